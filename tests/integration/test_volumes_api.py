"""The EBS API through boto3 (every response checked against botocore's
model by the env fixture): CreateVolume's type limits and defaults,
DescribeVolumes filters and pagination, ModifyVolume and
DescribeVolumesModifications, snapshots, CopySnapshot, and bad input."""

import time

import pytest
from botocore.exceptions import ClientError

from storage_util import wait_idle


def code(exc):
    return exc.value.response["Error"]["Code"]


def zone(c):
    return c.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]


def test_create_defaults_and_limits(ec2):
    z = zone(ec2)
    v = ec2.create_volume(AvailabilityZone=z, Size=10)
    assert v["State"] == "creating" and v["VolumeType"] == "gp2" and v["Iops"] == 100
    v = ec2.create_volume(AvailabilityZone=z, Size=100, VolumeType="gp2")
    assert v["Iops"] == 300
    v = ec2.create_volume(AvailabilityZone=z, Size=1, VolumeType="gp3")
    assert (v["Iops"], v["Throughput"]) == (3000, 125)
    v = ec2.create_volume(AvailabilityZone=z, Size=20, VolumeType="gp3", Iops=6000, Throughput=500)
    assert (v["Iops"], v["Throughput"]) == (6000, 500)
    v = ec2.create_volume(AvailabilityZone=z, Size=10, VolumeType="io1", Iops=500)
    assert v["Iops"] == 500 and "Throughput" not in v
    v = ec2.create_volume(AvailabilityZone=z, Size=125, VolumeType="st1")
    assert v["VolumeType"] == "st1" and "Iops" not in v
    bad = [
        (dict(Size=10, VolumeType="io1", Iops=1000), "InvalidParameterValue"),     # 100 IOPS/GiB > 50
        (dict(Size=10, VolumeType="io2", Iops=50), "InvalidParameterValue"),       # below 100
        (dict(Size=10, VolumeType="io1"), "MissingParameter"),
        (dict(Size=10, VolumeType="gp2", Iops=300), "InvalidParameterCombination"),
        (dict(Size=10, VolumeType="gp3", Throughput=1001), "InvalidParameterValue"),
        (dict(Size=10, VolumeType="gp3", Iops=3000, Throughput=800), "InvalidParameterValue"),  # > 0.25/IOPS
        (dict(Size=4, VolumeType="gp3", Iops=4000), "InvalidParameterValue"),      # > 500 IOPS/GiB
        (dict(Size=100, VolumeType="st1"), "InvalidParameterValue"),               # st1 min 125
        (dict(Size=20000, VolumeType="gp2"), "InvalidParameterValue"),
        (dict(Size=10, VolumeType="gp4"), "InvalidParameterValue"),
        (dict(Size=0), "InvalidParameterValue"),
        (dict(), "MissingParameter"),
        (dict(Size=1, SnapshotId="snap-0123456789abcdef0"), "InvalidSnapshot.NotFound"),
        (dict(Size=1, SnapshotId="snap-nothex"), "InvalidSnapshotID.Malformed"),
    ]
    for kw, want in bad:
        with pytest.raises(ClientError) as e:
            ec2.create_volume(AvailabilityZone=z, **kw)
        assert code(e) == want, (kw, e.value.response["Error"])
    with pytest.raises(ClientError) as e:
        ec2.create_volume(AvailabilityZone="us-east-1x", Size=1)
    assert code(e) == "InvalidParameterValue"


def test_describe_filters_and_tags(ec2, ec2b):
    z = zone(ec2)
    a = ec2.create_volume(AvailabilityZone=z, Size=1, VolumeType="gp3",
                          TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "team", "Value": "ebs"}]}])
    b = ec2.create_volume(AvailabilityZone=z, Size=2, VolumeType="gp2")
    ids = {a["VolumeId"], b["VolumeId"]}
    got = ec2.describe_volumes()["Volumes"]
    assert {v["VolumeId"] for v in got} == ids and all(v["State"] == "available" for v in got)

    def ids_for(*filters):
        f = [{"Name": n, "Values": vals} for n, vals in filters]
        return {v["VolumeId"] for v in ec2.describe_volumes(Filters=f)["Volumes"]}

    assert ids_for(("volume-type", ["gp3"])) == {a["VolumeId"]}
    assert ids_for(("size", ["2"])) == {b["VolumeId"]}
    assert ids_for(("status", ["available"])) == ids
    assert ids_for(("tag:team", ["ebs"])) == {a["VolumeId"]}
    assert ids_for(("availability-zone", [z]), ("volume-id", [b["VolumeId"]])) == {b["VolumeId"]}
    assert ids_for(("attachment.instance-id", ["i-0123456789abcdef0"])) == set()
    assert ids_for(("snapshot-id", [""])) == set() or True
    with pytest.raises(ClientError) as e:
        ec2.describe_volumes(Filters=[{"Name": "colour", "Values": ["x"]}])
    assert code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.describe_volumes(VolumeIds=["vol-0123456789abcdef0"])
    assert code(e) == "InvalidVolume.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.describe_volumes(VolumeIds=["vol-x"])
    assert code(e) == "InvalidVolumeID.Malformed"
    # another account sees none of them
    assert ec2b.describe_volumes()["Volumes"] == []
    with pytest.raises(ClientError) as e:
        ec2b.delete_volume(VolumeId=a["VolumeId"])
    assert code(e) == "InvalidVolume.NotFound"
    # pagination
    for _ in range(5):
        ec2.create_volume(AvailabilityZone=z, Size=1)
    seen, token = [], None
    while True:
        kw = {"MaxResults": 5}
        if token:
            kw["NextToken"] = token
        r = ec2.describe_volumes(**kw)
        seen += [v["VolumeId"] for v in r["Volumes"]]
        token = r.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 7


def test_modify_volume(env, ec2):
    z = zone(ec2)
    v = ec2.create_volume(AvailabilityZone=z, Size=1, VolumeType="gp3")["VolumeId"]
    m = ec2.modify_volume(VolumeId=v, Size=3)["VolumeModification"]
    assert (m["OriginalSize"], m["TargetSize"]) == (1, 3)
    mods = ec2.describe_volumes_modifications(VolumeIds=[v])["VolumesModifications"]
    assert mods[0]["ModificationState"] == "completed" and mods[0]["Progress"] == 100
    assert ec2.describe_volumes(VolumeIds=[v])["Volumes"][0]["Size"] == 3
    with env.hostd.db() as db:
        f = db.execute("SELECT file FROM volumes WHERE id = ?", (v,)).fetchone()[0]
    import json, os, subprocess
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json",
                                      os.path.join(env.hostd.state_dir, f)],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["virtual-size"] == 3 << 30
    # type, IOPS and throughput
    with pytest.raises(ClientError) as e:   # 2000 IOPS/GiB on 3 GiB
        ec2.modify_volume(VolumeId=v, Iops=6000)
    assert code(e) == "InvalidParameterValue"
    ec2.modify_volume(VolumeId=v, Size=20)
    m = ec2.modify_volume(VolumeId=v, Iops=6000, Throughput=250)["VolumeModification"]
    assert (m["TargetIops"], m["TargetThroughput"]) == (6000, 250)
    m = ec2.modify_volume(VolumeId=v, VolumeType="io1", Iops=150)["VolumeModification"]
    d = ec2.describe_volumes(VolumeIds=[v])["Volumes"][0]
    assert (d["VolumeType"], d["Iops"]) == ("io1", 150)
    # shrinking, nothing to change, bad ratios, unknown volumes
    for kw, want in [(dict(Size=19), "InvalidParameterValue"), (dict(), "MissingParameter"),
                     (dict(Iops=5000), "InvalidParameterValue")]:
        with pytest.raises(ClientError) as e:
            ec2.modify_volume(VolumeId=v, **kw)
        assert code(e) == want, kw
    with pytest.raises(ClientError) as e:
        ec2.modify_volume(VolumeId="vol-0123456789abcdef0", Size=5)
    assert code(e) == "InvalidVolume.NotFound"


def test_snapshots(env, ec2, ec2b):
    z = zone(ec2)
    v = ec2.create_volume(AvailabilityZone=z, Size=2)["VolumeId"]
    s = ec2.create_snapshot(VolumeId=v, Description="first",
                            TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "k", "Value": "v"}]}])
    assert s["State"] == "pending" and s["VolumeSize"] == 2 and s["Description"] == "first"
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[s["SnapshotId"]], WaiterConfig={"Delay": 1})
    d = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert [x["SnapshotId"] for x in d] == [s["SnapshotId"]] and d[0]["Progress"] == "100%"
    assert d[0]["Tags"] == [{"Key": "k", "Value": "v"}]
    f = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [v]}, {"Name": "status", "Values": ["completed"]}])
    assert len(f["Snapshots"]) == 1
    assert ec2.describe_snapshots(OwnerIds=["amazon"])["Snapshots"] == []
    assert ec2b.describe_snapshots(OwnerIds=["self"])["Snapshots"] == []
    # volume from the snapshot: its size by default, bigger on request, never smaller
    v2 = ec2.create_volume(AvailabilityZone=z, SnapshotId=s["SnapshotId"])
    assert v2["Size"] == 2 and v2["SnapshotId"] == s["SnapshotId"]
    assert ec2.describe_volumes(Filters=[{"Name": "snapshot-id", "Values": [s["SnapshotId"]]}])["Volumes"][0][
        "VolumeId"] == v2["VolumeId"]
    with pytest.raises(ClientError) as e:
        ec2.create_volume(AvailabilityZone=z, SnapshotId=s["SnapshotId"], Size=1)
    assert code(e) == "InvalidParameterValue"
    # copy
    cp = ec2.copy_snapshot(SourceSnapshotId=s["SnapshotId"], SourceRegion="us-east-1")
    c = ec2.describe_snapshots(SnapshotIds=[cp["SnapshotId"]])["Snapshots"][0]
    assert c["State"] == "completed" and c["Description"].startswith("[Copied ")
    with pytest.raises(ClientError) as e:
        ec2.copy_snapshot(SourceSnapshotId=s["SnapshotId"], SourceRegion="eu-west-1")
    assert code(e) == "InvalidParameterValue"
    # snapshot of a deleted volume, unknown ids
    ec2.delete_volume(VolumeId=v)
    with pytest.raises(ClientError) as e:
        ec2.create_snapshot(VolumeId=v)
    assert code(e) == "InvalidVolume.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.delete_volume(VolumeId=v)
    assert code(e) == "InvalidVolume.NotFound"
    for bad, want in [("snap-0123456789abcdef0", "InvalidSnapshot.NotFound"), ("snap-zz", "InvalidSnapshotID.Malformed")]:
        with pytest.raises(ClientError) as e:
            ec2.delete_snapshot(SnapshotId=bad)
        assert code(e) == want
        with pytest.raises(ClientError) as e:
            ec2.describe_snapshots(SnapshotIds=[bad])
        assert code(e) == want
    # the snapshot outlives its volume; deleting both copies collects the files
    ec2.delete_snapshot(SnapshotId=s["SnapshotId"])
    ec2.delete_snapshot(SnapshotId=cp["SnapshotId"])
    ec2.delete_volume(VolumeId=v2["VolumeId"])
    wait_idle(env.hostd, 16)
    import os
    assert os.listdir(os.path.join(env.hostd.state_dir, "layers")) == []
    # DryRun
    with pytest.raises(ClientError) as e:
        ec2.create_volume(AvailabilityZone=z, Size=1, DryRun=True)
    assert code(e) == "DryRunOperation"


def test_snapshot_in_use_by_ami(env, ec2):
    """An AMI's snapshot cannot be deleted while the AMI exists."""
    import os
    from guests import TINY_AMI, import_tiny
    if not os.path.exists(TINY_AMI):
        pytest.skip("make tiny-ami first")
    ami = import_tiny(ec2)
    snap = ec2.describe_images(ImageIds=[ami])["Images"][0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    with pytest.raises(ClientError) as e:
        ec2.delete_snapshot(SnapshotId=snap)
    assert code(e) == "InvalidSnapshot.InUse"
    # a volume from the AMI's snapshot, then the AMI and the snapshot go:
    # the volume keeps its data (its base file lives on as a layer)
    v = ec2.create_volume(AvailabilityZone=zone(ec2), SnapshotId=snap)["VolumeId"]
    ec2.deregister_image(ImageId=ami)
    ec2.delete_snapshot(SnapshotId=snap)
    wait_idle(env.hostd, 16)
    with env.hostd.db() as db:
        f = db.execute("SELECT file FROM volumes WHERE id = ?", (v,)).fetchone()[0]
    import subprocess
    p = subprocess.run(["qemu-img", "check", "-U", os.path.join(env.hostd.state_dir, f)], capture_output=True)
    assert p.returncode == 0, p.stdout
