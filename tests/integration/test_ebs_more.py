"""More of the EBS API (issue #6): volume attributes and status, snapshot
attributes (createVolumePermission) and sharing between accounts,
CreateSnapshots, DeleteOnTermination through ModifyInstanceAttribute, data
volumes in RunInstances' BlockDeviceMappings. boto3 and AWS CLI responses
are checked against botocore's model by the env fixture."""

import os

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_B


def code(exc):
    return exc.value.response["Error"]["Code"]


def zone(c):
    return c.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]


def new_volume(ec2, **kw):
    v = ec2.create_volume(AvailabilityZone=zone(ec2), Size=kw.pop("Size", 1), **kw)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[v], WaiterConfig={"Delay": 1})
    return v


def test_volume_attribute(env, ec2, ec2b):
    v = new_volume(ec2)
    a = ec2.describe_volume_attribute(VolumeId=v, Attribute="autoEnableIO")
    assert a["VolumeId"] == v and a["AutoEnableIO"] == {"Value": False}
    ec2.modify_volume_attribute(VolumeId=v, AutoEnableIO={"Value": True})
    assert ec2.describe_volume_attribute(VolumeId=v, Attribute="autoEnableIO")["AutoEnableIO"]["Value"] is True
    a = ec2.describe_volume_attribute(VolumeId=v, Attribute="productCodes")
    assert a["VolumeId"] == v and a.get("ProductCodes", []) == []
    # the CLI, both ways
    env.aws("modify-volume-attribute", "--volume-id", v, "--no-auto-enable-io")
    out = env.aws("describe-volume-attribute", "--volume-id", v, "--attribute", "autoEnableIO")
    assert out["AutoEnableIO"] == {"Value": False}
    # bad input
    for kw, want in [(dict(VolumeId=v, Attribute="size"), "InvalidParameterValue"),
                     (dict(VolumeId="vol-0123456789abcdef0", Attribute="autoEnableIO"), "InvalidVolume.NotFound"),
                     (dict(VolumeId="vol-x", Attribute="autoEnableIO"), "InvalidVolumeID.Malformed")]:
        with pytest.raises(ClientError) as e:
            ec2.describe_volume_attribute(**kw)
        assert code(e) == want, kw
    with pytest.raises(ClientError) as e:
        ec2.modify_volume_attribute(VolumeId=v)
    assert code(e) == "MissingParameter"
    with pytest.raises(ClientError) as e:
        ec2b.modify_volume_attribute(VolumeId=v, AutoEnableIO={"Value": True})
    assert code(e) == "InvalidVolume.NotFound"


def test_volume_status(env, ec2, ec2b):
    a = new_volume(ec2)
    b = new_volume(ec2, Size=2)
    st = {s["VolumeId"]: s for s in ec2.describe_volume_status()["VolumeStatuses"]}
    assert set(st) == {a, b}
    s = st[a]
    assert s["AvailabilityZone"] == zone(ec2)
    assert s["VolumeStatus"]["Status"] == "ok"
    assert {d["Name"]: d["Status"] for d in s["VolumeStatus"]["Details"]} == {
        "io-enabled": "passed", "io-performance": "not-applicable"}
    assert s.get("Events", []) == [] and s.get("Actions", []) == []
    # a chain that no longer opens: b's frozen layer goes missing
    snap = ec2.create_snapshot(VolumeId=b)["SnapshotId"]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[snap], WaiterConfig={"Delay": 1})
    with env.hostd.db() as db:
        layer = os.path.join(env.hostd.state_dir,
                             db.execute("SELECT file FROM snapshots WHERE id = ?", (snap,)).fetchone()[0])
    os.rename(layer, layer + ".away")
    try:
        s = ec2.describe_volume_status(VolumeIds=[b])["VolumeStatuses"][0]
        assert s["VolumeStatus"]["Status"] == "impaired"
        assert {d["Name"]: d["Status"] for d in s["VolumeStatus"]["Details"]}["io-enabled"] == "failed"

        def ids(*filters):
            f = [{"Name": n, "Values": vals} for n, vals in filters]
            return {x["VolumeId"] for x in ec2.describe_volume_status(Filters=f)["VolumeStatuses"]}

        assert ids(("volume-status.status", ["impaired"])) == {b}
        assert ids(("volume-status.status", ["ok"])) == {a}
        assert ids(("volume-status.details-status", ["failed"])) == {b}
        assert ids(("volume-status.details-name", ["io-enabled"]), ("availability-zone", [zone(ec2)])) == {a, b}
        assert ids(("event.event-type", ["potential-data-inconsistency"])) == set()
    finally:
        os.rename(layer + ".away", layer)
    assert ec2.describe_volume_status(VolumeIds=[b])["VolumeStatuses"][0]["VolumeStatus"]["Status"] == "ok"
    # the CLI, pagination, other accounts, bad input
    out = env.aws("describe-volume-status", "--volume-ids", a)
    assert [x["VolumeId"] for x in out["VolumeStatuses"]] == [a]
    for _ in range(4):
        new_volume(ec2)
    seen, token = [], None
    while True:
        kw = {"MaxResults": 5}
        if token:
            kw["NextToken"] = token
        r = ec2.describe_volume_status(**kw)
        seen += [x["VolumeId"] for x in r["VolumeStatuses"]]
        token = r.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 6
    assert ec2b.describe_volume_status()["VolumeStatuses"] == []
    with pytest.raises(ClientError) as e:
        ec2b.describe_volume_status(VolumeIds=[a])
    assert code(e) == "InvalidVolume.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.describe_volume_status(Filters=[{"Name": "colour", "Values": ["x"]}])
    assert code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.describe_volume_status(VolumeIds=["vol-x"])
    assert code(e) == "InvalidVolumeID.Malformed"
