"""DescribeRegions, DescribeAvailabilityZones, DescribeAccountAttributes,
DescribeInstanceTypes."""

import pytest
from botocore.exceptions import ClientError


def err_code(exc):
    return exc.value.response["Error"]["Code"]


def test_regions_and_zones(ec2):
    regions = ec2.describe_regions()["Regions"]
    assert regions == [{"RegionName": "us-east-1", "Endpoint": "ec2.us-east-1.amazonaws.com",
                        "OptInStatus": "opt-in-not-required"}]
    assert ec2.describe_regions(Filters=[{"Name": "region-name", "Values": ["eu-*"]}])["Regions"] == []
    with pytest.raises(ClientError) as e:
        ec2.describe_regions(RegionNames=["mars-north-1"])
    assert err_code(e) == "InvalidParameterValue"
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert len(zones) == 1
    z = zones[0]
    assert (z["ZoneName"], z["ZoneId"], z["State"], z["RegionName"]) == ("us-east-1a", "use1-az1", "available", "us-east-1")
    assert ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])["AvailabilityZones"]
    with pytest.raises(ClientError) as e:
        ec2.describe_availability_zones(ZoneNames=["us-east-1z"])
    assert err_code(e) == "InvalidParameterValue"


def test_account_attributes(ec2):
    attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
             for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert attrs["supported-platforms"] == ["VPC"]
    assert attrs["default-vpc"] == [ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]]
    assert attrs["max-instances"] == ["20"]
    one = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert [a["AttributeName"] for a in one] == ["default-vpc"]


def test_instance_types_table(ec2):
    types = {}
    for page in ec2.get_paginator("describe_instance_types").paginate(PaginationConfig={"PageSize": 10}):
        assert len(page["InstanceTypes"]) <= 10
        for t in page["InstanceTypes"]:
            assert t["InstanceType"] not in types
            types[t["InstanceType"]] = t
    expect = {"t2.nano": (1, 512), "t2.micro": (1, 1024), "t2.small": (1, 2048), "t2.medium": (2, 4096),
              "t3.nano": (2, 512), "t3.micro": (2, 1024), "t3.small": (2, 2048), "t3.medium": (2, 4096),
              "m5.large": (2, 8192), "c5.large": (2, 4096), "r5.large": (2, 16384)}
    for name, (vcpu, mib) in expect.items():
        assert types[name]["VCpuInfo"]["DefaultVCpus"] == vcpu, name
        assert types[name]["MemoryInfo"]["SizeInMiB"] == mib, name
    for fam in ("t2", "t3", "m5", "m5d", "c5", "c5d", "r5", "r5d"):
        assert any(n.startswith(fam + ".") for n in types), fam
    assert types["m5d.large"]["InstanceStorageSupported"] is True
    assert types["m5d.large"]["InstanceStorageInfo"]["TotalSizeInGB"] == 75
    assert types["m5.large"]["InstanceStorageSupported"] is False


def test_instance_type_filters(ec2):
    def names(**kw):
        return sorted(t["InstanceType"] for t in ec2.describe_instance_types(**kw)["InstanceTypes"])

    assert names(InstanceTypes=["t3.micro", "m5.large"]) == ["m5.large", "t3.micro"]
    assert names(Filters=[{"Name": "instance-type", "Values": ["c5d.*"]},
                          {"Name": "vcpu-info.default-vcpus", "Values": ["2"]}]) == ["c5d.large"]
    stor = names(Filters=[{"Name": "instance-storage-supported", "Values": ["true"]}])
    assert stor and all(n.split(".")[0].endswith("d") for n in stor)
    assert names(Filters=[{"Name": "memory-info.size-in-mib", "Values": ["512"]}]) == ["t2.nano", "t3.nano"]
    with pytest.raises(ClientError) as e:
        ec2.describe_instance_types(InstanceTypes=["t9.huge"])
    assert err_code(e) == "InvalidInstanceType"
    with pytest.raises(ClientError) as e:
        ec2.describe_instance_types(MaxResults=101)
    assert err_code(e) == "InvalidParameterValue"


def test_aws_cli_meta(env):
    assert env.aws("describe-regions")["Regions"][0]["RegionName"] == "us-east-1"
    r = env.aws("describe-instance-types", "--instance-types", "t2.micro")
    assert r["InstanceTypes"][0]["VCpuInfo"]["DefaultVCpus"] == 1
    r = env.aws("describe-instance-types", "--filters", "Name=burstable-performance-supported,Values=true",
                "--query", "InstanceTypes[].InstanceType")
    assert r and all(n.startswith(("t2.", "t3.")) for n in r)
