"""EBS with real tiny-AMI guests (TCG): a volume hot-plugged into a running
guest, written by its user-data (dd from /dev/urandom, sha256sum printed on
the console); a live snapshot; more writes; a volume from the snapshot
hot-plugged into a second guest reads back the first checksum. Also the
disk XML: iotune from the volume type, the volume id as serial."""
import base64
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import Env, Hostd, config_text
from guests import TINY_AMI, import_tiny, kill_guests, wait_marker, wait_state

pytestmark = [pytest.mark.skipif(not os.path.exists(TINY_AMI), reason="make tiny-ami first")]

WRITER = """#!/bin/sh
i=0; while [ ! -b /dev/vdb ] && [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done
dd if=/dev/urandom of=/dev/vdb bs=1M count=4 2>/dev/null; sync
echo "HOSTD-EBS one $(dd if=/dev/vdb bs=1M count=4 2>/dev/null | sha256sum | cut -c1-64)"
sleep 40
dd if=/dev/urandom of=/dev/vdb bs=1M count=4 2>/dev/null; sync
echo "HOSTD-EBS two $(dd if=/dev/vdb bs=1M count=4 2>/dev/null | sha256sum | cut -c1-64)"
"""

READER = """#!/bin/sh
i=0; while [ ! -b /dev/vdb ] && [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done
echo "HOSTD-EBS read $(dd if=/dev/vdb bs=1M count=4 2>/dev/null | sha256sum | cut -c1-64)"
"""


def sha_on(text, tag):
    m = re.findall(r"HOSTD-EBS %s ([0-9a-f]{64})" % tag, text)
    return m[-1] if m else None


def test_snapshot_data_across_guests():
    d = tempfile.mkdtemp(prefix="hostd-ebs-vm-")
    env = dict(os.environ)
    env["LSAN_OPTIONS"] = "suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                         "lsan-libvirt.supp")
    # full stacks at malloc, so the suppression can see libvirt's frames
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "detect_leaks=1") + ":fast_unwind_on_malloc=0"
    e = Env(Hostd(os.path.join(d, "state"), config_text(), env=env))
    try:
        c = e.client()
        ami = import_tiny(c)
        z = c.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
        a = c.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1,
                            UserData=WRITER)["Instances"][0]["InstanceId"]
        v = c.create_volume(AvailabilityZone=z, Size=1, VolumeType="gp3")["VolumeId"]
        wait_state(c, [a], "running")
        att = c.attach_volume(VolumeId=v, InstanceId=a, Device="/dev/sdf")
        assert att["State"] == "attaching" and att["Device"] == "/dev/sdf"
        vol = c.describe_volumes(VolumeIds=[v])["Volumes"][0]
        assert vol["State"] == "in-use" and vol["Attachments"][0]["InstanceId"] == a
        # the disk XML libvirt runs: gp3 limits and the volume id as serial
        xml = subprocess.run(["virsh", "-c", "qemu:///embed?root=" + os.path.join(e.hostd.state_dir, "libvirt"),
                              "dumpxml", a], capture_output=True, text=True).stdout
        if xml:
            assert "<total_iops_sec>3000</total_iops_sec>" in xml and v in xml, xml
        one = sha_on(wait_marker(c, a, "HOSTD-EBS one", timeout=240), "one")
        s = c.create_snapshot(VolumeId=v)["SnapshotId"]      # live: the VM is writing to it
        two = sha_on(wait_marker(c, a, "HOSTD-EBS two", timeout=120), "two")
        assert one != two
        c.get_waiter("snapshot_completed").wait(SnapshotIds=[s], WaiterConfig={"Delay": 1})

        b = c.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1,
                            UserData=READER)["Instances"][0]["InstanceId"]
        v2 = c.create_volume(AvailabilityZone=z, SnapshotId=s)["VolumeId"]
        wait_state(c, [b], "running")
        c.attach_volume(VolumeId=v2, InstanceId=b, Device="/dev/sdg")
        got = sha_on(wait_marker(c, b, "HOSTD-EBS read", timeout=240), "read")
        assert got == one, (got, one, two)

        # bad input against real instances
        from botocore.exceptions import ClientError
        for kw, want in [(dict(VolumeId=v, InstanceId=b, Device="/dev/sdh"), "VolumeInUse"),
                         (dict(VolumeId=c.create_volume(AvailabilityZone=z, Size=1)["VolumeId"], InstanceId=b,
                               Device="/dev/sdg"), "InvalidParameterValue"),
                         (dict(VolumeId=v2, InstanceId=b, Device="/dev/hda"), "InvalidParameterValue")]:
            with pytest.raises(ClientError) as ex:
                c.attach_volume(**kw)
            assert ex.value.response["Error"]["Code"] == want, kw
        with pytest.raises(ClientError) as ex:
            c.delete_volume(VolumeId=v)
        assert ex.value.response["Error"]["Code"] == "VolumeInUse"
        c.terminate_instances(InstanceIds=[a, b])
        wait_state(c, [a, b], "terminated", timeout=120)
        # data volumes outlive their instances (DeleteOnTermination false)
        states = {x["VolumeId"]: x["State"] for x in c.describe_volumes(VolumeIds=[v, v2])["Volumes"]}
        assert states == {v: "available", v2: "available"}, states
    finally:
        rc = e.hostd.stop()
        log = e.hostd.read_log()
        kill_guests(e.hostd.state_dir)
        shutil.rmtree(d, ignore_errors=True)
        assert rc == 0, "hostd exit %r\n%s" % (rc, log[-1500:])
        assert "AddressSanitizer" not in log and "runtime error" not in log, log
        assert e.sink == [], e.sink
