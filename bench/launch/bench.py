"""bench/launch: RunInstances to the tiny AMI's first console marker, against
bare qemu-system-x86_64 booting the same disk with the same machine options
to the same marker, in the same run. Also RunInstances API latency and the
time for one RunInstances of 10 instances until all are running.

Both sides are timed the same way: the first appearance of the marker in the
serial log file, polled every 10 ms."""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
import botocore.config

MARKER = b"HOSTD-TINY: boot"
ACCT = ("111111111111", "AKIAAAAAAAAAAAAAAAAA", "benchsecret" + "x" * 29)


def wait_file_marker(path, t0, timeout=120):
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                if MARKER in f.read():
                    return time.monotonic() - t0
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise RuntimeError("no marker in %s" % path)


def bare_boot(ami, work, i):
    """The same machine libvirt builds for a t3.nano under TCG: i440fx, 2
    vCPUs, 512 MiB, tb-size 64, virtio disk (qcow2 overlay), VGA, serial to
    a file, an isolated user-mode virtio NIC."""
    ov = os.path.join(work, "bare%d.qcow2" % i)
    log = os.path.join(work, "bare%d.log" % i)
    size = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", ami]))["virtual-size"]
    subprocess.check_call(["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", ami, "-F", "qcow2", ov,
                           str(size)])
    t0 = time.monotonic()
    p = subprocess.Popen(["qemu-system-x86_64", "-machine", "pc-i440fx-7.2", "-accel", "tcg,tb-size=64",
                          "-cpu", "qemu64", "-m", "512", "-smp", "2", "-nodefaults", "-no-user-config",
                          "-drive", "file=%s,format=qcow2,if=virtio" % ov, "-vga", "std", "-display", "none",
                          "-serial", "file:" + log,
                          "-netdev", "user,id=n0,restrict=on,net=169.254.0.0/16,host=169.254.0.1",
                          "-device", "virtio-net-pci,netdev=n0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_file_marker(log, t0)
    finally:
        p.kill()
        p.wait()


class Hostd:
    def __init__(self, binary, work):
        self.state = os.path.join(work, "state")
        conf = os.path.join(work, "hostd.conf")
        with open(conf, "w") as f:
            # the waits poll DescribeInstances every 20 ms: lift EC2's throttle
            f.write("[host]\nstop_timeout_s = 5\n[throttle]\ndescribe_rate = 1000\ndescribe_burst = 1000\n"
                    "[account %s]\naccess_key = %s\nsecret_key = %s\n" % ACCT)
        self.log = os.path.join(work, "hostd.log")
        self.p = subprocess.Popen([binary, "--state-dir", self.state, "--config", conf, "--listen", "127.0.0.1:0"],
                                  stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        port = None
        for _ in range(1500):
            m = re.search(rb"\(port (\d+)\)", open(self.log, "rb").read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.01)
        if not port:
            raise RuntimeError(open(self.log).read())
        self.ec2 = boto3.client("ec2", endpoint_url="http://127.0.0.1:%d" % port, region_name="us-east-1",
                                aws_access_key_id=ACCT[1], aws_secret_access_key=ACCT[2],
                                config=botocore.config.Config(retries={"total_max_attempts": 1}))

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(30)
        # guests outlive hostd by design; the benchmark leaves none behind
        subprocess.run(["pkill", "-9", "-f", self.state], check=False)


def wait_running(ec2, iids, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = ec2.describe_instances(InstanceIds=iids)
        if all(i["State"]["Name"] == "running" for res in r["Reservations"] for i in res["Instances"]):
            return
        time.sleep(0.02)
    raise RuntimeError("not running")


def wait_terminated(ec2, iids):
    ec2.terminate_instances(InstanceIds=iids)
    for _ in range(3000):
        r = ec2.describe_instances(InstanceIds=iids)
        if all(i["State"]["Name"] == "terminated" for res in r["Reservations"] for i in res["Instances"]):
            return
        time.sleep(0.02)
    raise RuntimeError("not terminated")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hostd", required=True)
    ap.add_argument("--ami", required=True)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--batch", type=int, default=10)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="hostd-bench-launch-")
    h = Hostd(a.hostd, work)
    try:
        t = h.ec2.import_image(DiskContainers=[{"Format": "qcow2", "Url": "file://" + a.ami}])
        while True:
            d = h.ec2.describe_import_image_tasks(ImportTaskIds=[t["ImportTaskId"]])["ImportImageTasks"][0]
            if d["Status"] == "completed":
                ami = d["ImageId"]
                break
            if d["Status"] != "active":
                raise RuntimeError(d)
            time.sleep(0.05)
        # warm-up: libvirt probes QEMU's capabilities on the first start
        r = h.ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1)
        iid = r["Instances"][0]["InstanceId"]
        wait_file_marker(os.path.join(h.state, "instances", iid, "console.log"), time.monotonic())
        wait_terminated(h.ec2, [iid])
        hostd_t, api_t, bare_t, measured = [], [], [], []
        for i in range(a.runs):
            # interleave the two so machine noise hits both alike
            bare_t.append(bare_boot(a.ami, work, i))
            t0 = time.monotonic()
            r = h.ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1)
            api_t.append(time.monotonic() - t0)
            iid = r["Instances"][0]["InstanceId"]
            measured.append(iid)
            hostd_t.append(wait_file_marker(os.path.join(h.state, "instances", iid, "console.log"), t0))
            wait_terminated(h.ec2, [iid])
        t0 = time.monotonic()
        r = h.ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=a.batch, MaxCount=a.batch)
        iids = [i["InstanceId"] for i in r["Instances"]]
        wait_running(h.ec2, iids)
        batch = time.monotonic() - t0
        wait_terminated(h.ec2, iids)
        # hostd's own account of each measured launch (hostd/instances.c)
        steps = {}
        for m in re.finditer(r"(i-[0-9a-f]+): started in (\d+) ms: taps (\d+), disk (\d+), libvirt (\d+) "
                             r"\(metadata and network alongside\), wiring (\d+)", open(h.log).read()):
            if m.group(1) in measured:
                for k, v in zip(("start", "taps", "disk", "libvirt", "wiring"), m.groups()[1:]):
                    steps.setdefault(k, []).append(int(v))
    finally:
        h.stop()
        shutil.rmtree(work, ignore_errors=True)
    mh, mb = statistics.median(hostd_t), statistics.median(bare_t)
    # each hostd launch ran right after a bare one: their ratio shares the
    # machine's load of that moment, so its median is the steadier figure
    paired = statistics.median(h_ / b_ for h_, b_ in zip(hostd_t, bare_t))
    res = {
        "runs": a.runs,
        "hostd_to_marker_s": [round(x, 3) for x in hostd_t],
        "bare_qemu_to_marker_s": [round(x, 3) for x in bare_t],
        "median_hostd_s": round(mh, 3), "median_bare_s": round(mb, 3),
        "ratio_hostd_over_bare": round(mh / mb, 3),
        "median_paired_ratio": round(paired, 3),
        "run_instances_api_p50_ms": round(statistics.median(api_t) * 1000, 1),
        "batch": a.batch, "batch_all_running_s": round(batch, 3),
        "hostd_start_steps_median_ms": {k: statistics.median(v) for k, v in steps.items()},
    }
    print(json.dumps(res, indent=2))
    print("launch to first marker: hostd %.2f s, bare QEMU %.2f s, ratio of medians %.3f, median of paired "
          "ratios %.3f (goal <= 1.15): %s" % (mh, mb, mh / mb, paired, "PASS" if paired <= 1.15 else "MISS"))
    print("RunInstances API p50 %.1f ms (goal < 100 ms): %s"
          % (res["run_instances_api_p50_ms"], "PASS" if res["run_instances_api_p50_ms"] < 100 else "MISS"))
    print("RunInstances x%d until all running: %.2f s" % (a.batch, batch))


if __name__ == "__main__":
    sys.exit(main())
