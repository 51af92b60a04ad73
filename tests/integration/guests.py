"""Helpers for tests that boot real guests: the tiny AMI, console markers,
and making sure no QEMU outlives its test."""
import base64
import os
import shutil
import signal
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TINY_AMI = os.path.join(ROOT, "build", "ami", "tiny.qcow2")


def import_tiny(ec2, path=TINY_AMI, timeout=120):
    """ImportImage of the tiny AMI; returns the AMI id once the task completes."""
    t = ec2.import_image(Description="tiny test AMI",
                         DiskContainers=[{"Format": "qcow2", "Url": "file://" + path}])
    task = t["ImportTaskId"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = ec2.describe_import_image_tasks(ImportTaskIds=[task])["ImportImageTasks"][0]
        if d["Status"] == "completed":
            return d["ImageId"]
        assert d["Status"] == "active", d
        time.sleep(0.2)
    raise AssertionError("import did not complete")


def console(ec2, iid):
    out = ec2.get_console_output(InstanceId=iid, Latest=True).get("Output", "")
    # boto3 decodes the base64 for us
    return out


def wait_marker(ec2, iid, marker, timeout=120, count=1):
    """Waits until the console shows marker (at least count times)."""
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = console(ec2, iid)
        if text.count(marker) >= count:
            return text
        time.sleep(0.5)
    raise AssertionError("no %r (x%d) on %s's console after %ds; console:\n%s"
                         % (marker, count, iid, timeout, text[-3000:]))


def wait_state(ec2, iids, state, timeout=120):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        r = ec2.describe_instances(InstanceIds=list(iids))
        last = {i["InstanceId"]: i for res in r["Reservations"] for i in res["Instances"]}
        if all(last[i]["State"]["Name"] == state for i in iids):
            return last
        time.sleep(0.3)
    raise AssertionError("instances not %s after %ds: %s"
                         % (state, timeout, {k: v["State"]["Name"] for k, v in (last or {}).items()}))


def qemu_pids(state_dir):
    """QEMU processes whose command line mentions the state directory."""
    out = subprocess.run(["pgrep", "-f", "qemu-system-x86_64"], capture_output=True, text=True).stdout.split()
    pids = []
    for p in out:
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                if state_dir.encode() in f.read():
                    pids.append(int(p))
        except OSError:
            pass
    return pids


def kill_guests(state_dir):
    """Guests outlive hostd by design; a test must not leave any behind
    (nor their VPC namespaces and dnsmasq)."""
    for p in qemu_pids(state_dir):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    cleanup_net(state_dir)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def cleanup_net(state_dir):
    """VPC namespaces and their dnsmasq outlive hostd by design (running
    guests keep their network); a test removes what its hostd made: every
    dnsmasq whose pid file lies under state_dir/net and every namespace
    named after a VPC directory there. Call after hostd has stopped."""
    top = os.path.join(state_dir, "net")
    if not os.path.isdir(top):
        return
    for vpc in os.listdir(top):
        d = os.path.join(top, vpc)
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            if not f.endswith(".pid"):
                continue
            pidfile = os.path.join(d, f)
            try:
                pid = int(open(pidfile).read().strip())
                with open("/proc/%d/cmdline" % pid, "rb") as c:
                    if pidfile.encode() not in c.read():
                        continue
                os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError):
                pass
        if vpc.startswith("vpc-"):
            subprocess.run(["ip", "netns", "del", "hostd-" + vpc], capture_output=True)
            shutil.rmtree("/run/hostd-net/hostd-" + vpc, ignore_errors=True)
    # hostd's public namespace goes with the last VPC linked to it
    links = subprocess.run(["ip", "-n", "hostd-public", "-o", "link"], capture_output=True, text=True)
    if links.returncode == 0 and " pb-" not in links.stdout:
        subprocess.run(["ip", "netns", "del", "hostd-public"], capture_output=True)
