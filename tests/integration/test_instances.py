"""RunInstances and the instance lifecycle with real QEMU guests (TCG here),
through boto3 and the AWS CLI. The tiny AMI prints markers on its serial
console; tests read them back with GetConsoleOutput."""
import base64
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time

import botocore.exceptions
import pytest

from conftest import ACCOUNT_A, ACCOUNT_B, Env, Hostd, config_text
from guests import TINY_AMI, console, import_tiny, kill_guests, qemu_pids, wait_marker, wait_state

pytestmark = pytest.mark.skipif(not os.path.exists(TINY_AMI), reason="make tiny-ami first")

def make_env(d, extra=""):
    cfg = config_text().replace("[host]\nregion = us-east-1\n",
                                "[host]\nregion = us-east-1\nstop_timeout_s = 20\n" + extra)
    return Env(Hostd(os.path.join(d, "state"), cfg))


def net_snapshot(a, state, iid):
    """(dnsmasq pids by pid file, the instance's tap line in its namespace)."""
    inst = a.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    eni = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ns = "hostd-" + inst["VpcId"]
    d = os.path.join(state, "net", inst["VpcId"])
    pids = {f: open(os.path.join(d, f)).read().strip() for f in sorted(os.listdir(d)) if f.endswith(".pid")}
    tap = subprocess.run(["ip", "-n", ns, "-o", "link", "show", "tap-" + eni[-11:]], capture_output=True,
                         text=True).stdout
    assert "master br-" in tap and len(pids) == 2, (tap, pids)
    return pids, tap.split("<")[1].split(">")[0]


def finish(e, d):
    rc = e.hostd.stop()
    log = e.hostd.read_log()
    kill_guests(e.hostd.state_dir)
    assert rc == 0, "hostd exit %r\n%s" % (rc, log[-5000:])
    assert "runtime error" not in log and "AddressSanitizer" not in log, log
    assert e.sink == [], "responses that do not match the EC2 model:\n" + "\n".join(map(str, e.sink))


@pytest.fixture(scope="module")
def genv():
    d = tempfile.mkdtemp(prefix="hostd-vm-")
    e = make_env(d)
    e.ami = import_tiny(e.client())
    yield e
    finish(e, d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def g(genv):
    return genv.client()


def run(g, ami, n=1, **kw):
    kw.setdefault("InstanceType", "t3.nano")
    r = g.run_instances(ImageId=ami, MinCount=kw.pop("MinCount", n), MaxCount=kw.pop("MaxCount", n), **kw)
    return r


def terminate(g, iids):
    g.terminate_instances(InstanceIds=list(iids))
    wait_state(g, iids, "terminated", timeout=60)


def test_launch_console_screenshot_stop_start(genv, g):
    r = run(g, genv.ami, TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "t1"}]}])
    inst = r["Instances"][0]
    iid = inst["InstanceId"]
    assert inst["State"] == {"Code": 0, "Name": "pending"}
    assert inst["ImageId"] == genv.ami and inst["InstanceType"] == "t3.nano"
    assert r["OwnerId"] == ACCOUNT_A[0] and r["ReservationId"].startswith("r-")
    d = wait_state(g, [iid], "running")[iid]
    assert d["State"]["Code"] == 16
    bdm = d["BlockDeviceMappings"]
    assert len(bdm) == 1 and bdm[0]["DeviceName"] == d["RootDeviceName"]
    assert bdm[0]["Ebs"]["VolumeId"].startswith("vol-") and bdm[0]["Ebs"]["DeleteOnTermination"] is True
    assert {"Key": "Name", "Value": "t1"} in d["Tags"]
    text = wait_marker(g, iid, "HOSTD-TINY: ready")
    assert "HOSTD-TINY: boot-count 1" in text
    # on its default-VPC ENI: DHCP gave the ENI's address, metadata answers
    # through the VPC router
    assert d["VpcId"].startswith("vpc-") and d["SubnetId"].startswith("subnet-")
    assert d["NetworkInterfaces"][0]["PrivateIpAddress"] == d["PrivateIpAddress"]
    assert "HOSTD-TINY: net up %s" % d["PrivateIpAddress"] in [ln.strip() for ln in text.splitlines()], text
    assert "HOSTD-TINY: instance-id %s" % iid in text, text
    # a real JPEG of the VGA text screen
    shot = base64.b64decode(g.get_console_screenshot(InstanceId=iid)["ImageData"])
    assert shot[:3] == b"\xff\xd8\xff" and shot[-2:] == b"\xff\xd9"
    w, h = jpeg_size(shot)
    assert (w, h) == (720, 400)
    # stop: ACPI power button, the guest shuts down cleanly
    s = g.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert s["PreviousState"]["Name"] == "running" and s["CurrentState"]["Name"] == "stopping"
    d = wait_state(g, [iid], "stopped", timeout=60)[iid]
    assert d["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert d["StateTransitionReason"].startswith("User initiated (")
    assert "HOSTD-TINY: poweroff" in console(g, iid)
    assert not qemu_pids_for(genv, iid)
    # the root volume keeps its data: the second boot counts 2
    g.start_instances(InstanceIds=[iid])
    wait_state(g, [iid], "running")
    wait_marker(g, iid, "HOSTD-TINY: boot-count 2")
    # reboot: same VM, the guest boots a third time
    assert g.reboot_instances(InstanceIds=[iid])["ResponseMetadata"]["HTTPStatusCode"] == 200
    wait_marker(g, iid, "HOSTD-TINY: boot-count 3", timeout=120)
    terminate(g, [iid])
    assert not qemu_pids_for(genv, iid)
    vol = bdm[0]["Ebs"]["VolumeId"]
    assert not os.path.exists(os.path.join(genv.hostd.state_dir, "volumes", vol + ".qcow2"))


def qemu_pids_for(genv, iid):
    return [p for p in qemu_pids(genv.hostd.state_dir) if iid.encode() in open("/proc/%d/cmdline" % p, "rb").read()]


def jpeg_size(data):
    i = 2
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        seglen = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + seglen
    raise AssertionError("no SOF marker")


def test_cli_run_wait_stop_terminate(genv):
    e = genv
    r = e.aws("run-instances", "--image-id", e.ami, "--instance-type", "t3.nano", "--count", "1",
              "--instance-initiated-shutdown-behavior", "terminate")
    iid = r["Instances"][0]["InstanceId"]
    e.aws("wait", "instance-running", "--instance-ids", iid)
    d = e.aws("describe-instances", "--instance-ids", iid)["Reservations"][0]["Instances"][0]
    assert d["State"]["Name"] == "running"
    a = e.aws("describe-instance-attribute", "--instance-id", iid, "--attribute", "instanceInitiatedShutdownBehavior")
    assert a["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"
    e.aws("stop-instances", "--instance-ids", iid, "--force")
    e.aws("wait", "instance-stopped", "--instance-ids", iid)
    # instanceType and userData change only while stopped
    e.aws("modify-instance-attribute", "--instance-id", iid, "--instance-type", "Value=t3.micro")
    a = e.aws("describe-instance-attribute", "--instance-id", iid, "--attribute", "instanceType")
    assert a["InstanceType"]["Value"] == "t3.micro"
    e.aws("terminate-instances", "--instance-ids", iid)
    e.aws("wait", "instance-terminated", "--instance-ids", iid)
    out = e.aws("describe-instances", "--filters", "Name=instance-state-name,Values=terminated",
                "Name=instance-id,Values=" + iid)
    assert [i["InstanceId"] for res in out["Reservations"] for i in res["Instances"]] == [iid]


def test_five_instances_termination_protection_and_filters(genv, g):
    r = run(g, genv.ami, MinCount=5, MaxCount=5, DisableApiTermination=True,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "batch", "Value": "five"}]}])
    iids = [i["InstanceId"] for i in r["Instances"]]
    assert len(iids) == 5 and sorted(i["AmiLaunchIndex"] for i in r["Instances"]) == list(range(5))
    wait_state(g, iids, "running", timeout=180)
    f = g.describe_instances(Filters=[{"Name": "tag:batch", "Values": ["five"]},
                                      {"Name": "instance-state-name", "Values": ["running"]}])
    assert len(f["Reservations"]) == 1 and len(f["Reservations"][0]["Instances"]) == 5
    assert g.describe_instances(Filters=[{"Name": "instance-type", "Values": ["m5.large"]},
                                         {"Name": "tag:batch", "Values": ["five"]}])["Reservations"] == []
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        g.terminate_instances(InstanceIds=iids[:1])
    assert ei.value.response["Error"]["Code"] == "OperationNotPermitted"
    for i in iids:
        g.modify_instance_attribute(InstanceId=i, DisableApiTermination={"Value": False})
    terminate(g, iids)


def test_wrong_state_and_bad_input(genv, g):
    def code(fn, **kw):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            fn(**kw)
        return ei.value.response["Error"]["Code"]

    # the AMI's own root device (the tiny AMI's import names it /dev/sda1)
    root = g.describe_images(ImageIds=[genv.ami])["Images"][0]["RootDeviceName"]
    assert code(g.run_instances, ImageId="ami-0123456789abcdef0", MinCount=1, MaxCount=1) == "InvalidAMIID.NotFound"
    assert code(g.run_instances, ImageId="ami-zz", MinCount=1, MaxCount=1) == "InvalidAMIID.Malformed"
    assert code(g.run_instances, ImageId=genv.ami, InstanceType="t9.huge", MinCount=1,
                MaxCount=1) == "InvalidParameterValue"
    assert code(g.run_instances, ImageId=genv.ami, MinCount=3, MaxCount=2) == "InvalidParameterValue"
    assert code(g.run_instances, ImageId=genv.ami, MinCount=1, MaxCount=1,
                UserData="x" * 17000) == "InvalidParameterValue"
    assert code(g.run_instances, ImageId=genv.ami, MinCount=1, MaxCount=1, KeyName="nope") == "InvalidKeyPair.NotFound"
    assert code(g.run_instances, ImageId=genv.ami, MinCount=1, MaxCount=1,
                Placement={"AvailabilityZone": "eu-west-1a"}) == "InvalidParameterValue"
    assert code(g.run_instances, ImageId=genv.ami, MinCount=1, MaxCount=1,
                BlockDeviceMappings=[{"DeviceName": root, "Ebs": {"VolumeSize": 0}}]) in (
        "InvalidParameterValue", "InvalidBlockDeviceMapping")
    assert code(g.stop_instances, InstanceIds=["i-0123456789abcdef0"]) == "InvalidInstanceID.NotFound"
    assert code(g.stop_instances, InstanceIds=["i-xyz"]) == "InvalidInstanceID.Malformed"
    # another account cannot see or launch A's AMI
    b = genv.client(ACCOUNT_B)
    assert code(b.run_instances, ImageId=genv.ami, MinCount=1, MaxCount=1) == "InvalidAMIID.NotFound"
    # IncorrectInstanceState: reboot and screenshot of a stopped instance, start of a running one
    iid = run(g, genv.ami)["Instances"][0]["InstanceId"]
    wait_state(g, [iid], "running")
    assert code(g.modify_instance_attribute, InstanceId=iid, InstanceType={"Value": "t3.micro"}) == \
        "IncorrectInstanceState"
    g.stop_instances(InstanceIds=[iid], Force=True)
    wait_state(g, [iid], "stopped", timeout=60)
    assert code(g.reboot_instances, InstanceIds=[iid]) == "IncorrectInstanceState"
    assert code(g.get_console_screenshot, InstanceId=iid) == "IncorrectInstanceState"
    assert code(b.describe_instances, InstanceIds=[iid]) == "InvalidInstanceID.NotFound"
    terminate(g, [iid])
    assert code(g.start_instances, InstanceIds=[iid]) == "IncorrectInstanceState"
    assert code(g.stop_instances, InstanceIds=[iid]) == "IncorrectInstanceState"


def test_client_token_idempotent(genv, g):
    r1 = run(g, genv.ami, ClientToken="tok-1")
    r2 = run(g, genv.ami, ClientToken="tok-1")
    assert r1["ReservationId"] == r2["ReservationId"]
    assert [i["InstanceId"] for i in r1["Instances"]] == [i["InstanceId"] for i in r2["Instances"]]
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        run(g, genv.ami, ClientToken="tok-1", InstanceType="t3.micro")
    assert ei.value.response["Error"]["Code"] == "IdempotentParameterMismatch"
    terminate(g, [i["InstanceId"] for i in r1["Instances"]])


def test_capacity_limits():
    d = tempfile.mkdtemp(prefix="hostd-cap-")
    # room for two t3.nano (512 MiB) by memory; account B may use 2 vCPUs
    cfg = config_text().replace("[host]\nregion = us-east-1\n", "[host]\nregion = us-east-1\nmemory_mib = 1100\n")
    cfg += "vcpu_quota = 2\n"  # the last section is account B's
    e = Env(Hostd(os.path.join(d, "state"), cfg))
    try:
        a, b = e.client(), e.client(ACCOUNT_B)
        ami = import_tiny(a)
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            a.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=3, MaxCount=3)
        assert ei.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"
        # MinCount..MaxCount: as many as fit, never more
        r = a.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=5)
        assert len(r["Instances"]) == 2
        iids = [i["InstanceId"] for i in r["Instances"]]
        amib = import_tiny(b)
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            b.run_instances(ImageId=amib, InstanceType="t3.micro", MinCount=2, MaxCount=2)
        assert ei.value.response["Error"]["Code"] == "VcpuLimitExceeded"
        a.terminate_instances(InstanceIds=iids)
        wait_state(a, iids, "terminated", timeout=60)
    finally:
        finish(e, d)
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_guests_survive_hostd_restart(sig):
    d = tempfile.mkdtemp(prefix="hostd-rs-")
    e = make_env(d)
    state = e.hostd.state_dir
    try:
        a = e.client()
        ami = import_tiny(a)
        iids = [i["InstanceId"] for i in a.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=2,
                                                          MaxCount=2)["Instances"]]
        wait_state(a, iids, "running")
        wait_marker(a, iids[0], "HOSTD-TINY: ready")
        pids = sorted(qemu_pids(state))
        assert len(pids) == 2
        # the VPC side the guests use: dnsmasq processes and the survivor's tap
        net_before = net_snapshot(a, state, iids[0])
        if sig == signal.SIGKILL:
            e.hostd.proc.kill()
            e.hostd.proc.wait()
            e.hostd.log.close()
        else:
            assert e.hostd.stop(sig) == 0
        # while hostd is away, one guest is pulled out from under it
        victim = [p for p in pids if iids[1].encode() in open("/proc/%d/cmdline" % p, "rb").read()][0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(0.5)
        e = Env(Hostd(state, open(state + ".conf").read()))
        a = e.client()
        d0 = wait_state(a, [iids[0]], "running")
        assert d0[iids[0]]["State"]["Name"] == "running"
        assert sorted(qemu_pids(state)) == [p for p in pids if p != victim]  # the same QEMU, untouched
        # the same dnsmasq (static leases: the guest keeps its address) and tap
        assert net_snapshot(a, state, iids[0]) == net_before
        # the guest that vanished is reconciled (its shutdown behaviour is stop)
        wait_state(a, [iids[1]], "stopped", timeout=60)
        # and the survivor is still fully manageable
        a.stop_instances(InstanceIds=[iids[0]])
        wait_state(a, [iids[0]], "stopped", timeout=60)
        a.terminate_instances(InstanceIds=iids)
        wait_state(a, iids, "terminated", timeout=60)
    finally:
        finish(e, d)
        shutil.rmtree(d, ignore_errors=True)


def test_user_data_persists_and_guest_poweroff(genv, g):
    """user-data (served by the metadata path) writes a file on the first
    boot; the next boot prints it. A poweroff from inside the guest follows
    InstanceInitiatedShutdownBehavior: stop, then terminate."""
    script = "#!/bin/sh\necho first-boot-$(cat /proc/sys/kernel/random/uuid) > /var/lib/hostd-tiny/marker\n"
    iid = run(g, genv.ami, UserData=script)["Instances"][0]["InstanceId"]
    text = wait_marker(g, iid, "HOSTD-TINY: user-data ran rc=0")
    assert "HOSTD-TINY: imds token ok" in text and "HOSTD-TINY: instance-id " + iid in text
    a = g.describe_instance_attribute(InstanceId=iid, Attribute="userData")
    assert base64.b64decode(a["UserData"]["Value"]).decode() == script
    g.stop_instances(InstanceIds=[iid])
    wait_state(g, [iid], "stopped", timeout=60)
    g.start_instances(InstanceIds=[iid])
    text = wait_marker(g, iid, "HOSTD-TINY: boot-count 2")
    text = wait_marker(g, iid, "HOSTD-TINY: user-data already ran")
    assert "HOSTD-TINY: marker first-boot-" in text
    # guest poweroff with behaviour stop: stopped, the reason says the guest did it
    g.stop_instances(InstanceIds=[iid], Force=True)
    wait_state(g, [iid], "stopped", timeout=60)
    g.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"#!/bin/sh\npoweroff\n"})
    # user-data runs once per instance: a fresh instance for each behaviour
    terminate(g, [iid])
    for behaviour, final in (("stop", "stopped"), ("terminate", "terminated")):
        iid = run(g, genv.ami, UserData="#!/bin/sh\npoweroff\n",
                  InstanceInitiatedShutdownBehavior=behaviour)["Instances"][0]["InstanceId"]
        d = wait_state(g, [iid], final, timeout=120)[iid]
        assert d["StateReason"]["Code"] == "Client.InstanceInitiatedShutdown", d["StateReason"]
        if final == "stopped":
            terminate(g, [iid])
