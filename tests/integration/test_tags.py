"""CreateTags / DeleteTags / DescribeTags: validation, filters, pagination,
unicode, limits, and account isolation."""

import pytest
from botocore.exceptions import ClientError


def err_code(exc):
    return exc.value.response["Error"]["Code"]


@pytest.fixture
def keys(ec2):
    return [ec2.create_key_pair(KeyName="k%d" % i)["KeyPairId"] for i in range(3)]


def test_create_describe_delete(ec2, keys):
    ec2.create_tags(Resources=keys[:2], Tags=[{"Key": "env", "Value": "prod"}, {"Key": "Name", "Value": ""}])
    tags = ec2.describe_tags()["Tags"]
    assert len(tags) == 4
    assert all(t["ResourceType"] == "key-pair" for t in tags)
    assert {(t["ResourceId"], t["Key"], t["Value"]) for t in tags} == {
        (k, key, v) for k in keys[:2] for key, v in (("env", "prod"), ("Name", ""))}
    # Overwrite keeps one tag per key.
    ec2.create_tags(Resources=[keys[0]], Tags=[{"Key": "env", "Value": "dev"}])
    f = [{"Name": "resource-id", "Values": [keys[0]]}, {"Name": "key", "Values": ["env"]}]
    assert [t["Value"] for t in ec2.describe_tags(Filters=f)["Tags"]] == ["dev"]
    # Delete with a value only matches that value.
    ec2.delete_tags(Resources=[keys[0]], Tags=[{"Key": "env", "Value": "other"}])
    assert len(ec2.describe_tags(Filters=f)["Tags"]) == 1
    ec2.delete_tags(Resources=[keys[0]], Tags=[{"Key": "env", "Value": "dev"}])
    assert ec2.describe_tags(Filters=f)["Tags"] == []
    # Without Tags, every tag goes.
    ec2.delete_tags(Resources=[keys[1]])
    assert {t["ResourceId"] for t in ec2.describe_tags()["Tags"]} == {keys[0]}


def test_filters_wildcards(ec2, keys):
    ec2.create_tags(Resources=[keys[0]], Tags=[{"Key": "Name", "Value": "web-01"}])
    ec2.create_tags(Resources=[keys[1]], Tags=[{"Key": "Name", "Value": "web-02"}])
    ec2.create_tags(Resources=[keys[2]], Tags=[{"Key": "Name", "Value": "db*1"}])

    def vals(filters):
        return sorted(t["Value"] for t in ec2.describe_tags(Filters=filters)["Tags"])

    assert vals([{"Name": "value", "Values": ["web-*"]}]) == ["web-01", "web-02"]
    assert vals([{"Name": "value", "Values": ["web-0?"]}]) == ["web-01", "web-02"]
    assert vals([{"Name": "value", "Values": ["db\\*1"]}]) == ["db*1"]
    assert vals([{"Name": "value", "Values": ["WEB-*"]}]) == []  # case-sensitive
    assert vals([{"Name": "resource-type", "Values": ["key-pair"]}, {"Name": "value", "Values": ["*2"]}]) == ["web-02"]
    assert vals([{"Name": "tag:Name", "Values": ["db*"]}]) == ["db*1"]
    ec2.create_tags(Resources=[keys[2]], Tags=[{"Key": "Empty", "Value": ""}])
    assert vals([{"Name": "value", "Values": [""]}]) == [""]


def test_pagination(ec2, keys):
    tags = [{"Key": "k%03d" % i, "Value": str(i)} for i in range(40)]
    ec2.create_tags(Resources=[keys[0]], Tags=tags)
    ec2.create_tags(Resources=[keys[1]], Tags=tags[:10])
    seen, pages = [], 0
    for page in ec2.get_paginator("describe_tags").paginate(PaginationConfig={"PageSize": 7}):
        assert len(page["Tags"]) <= 7
        seen += [(t["ResourceId"], t["Key"]) for t in page["Tags"]]
        pages += 1
    assert len(seen) == 50 and len(set(seen)) == 50 and pages == 8
    assert seen == sorted(seen)
    for bad in (0, 4, 1001, -1):
        with pytest.raises(ClientError) as e:
            ec2.describe_tags(MaxResults=bad)
        assert err_code(e) == "InvalidParameterValue" and "MaxResults" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        ec2.describe_tags(NextToken="Zm9vYmFy")
    assert err_code(e) == "InvalidPaginationToken"


def test_unicode_and_limits(ec2, keys):
    ec2.create_tags(Resources=[keys[0]], Tags=[{"Key": "名前", "Value": "値 ✓ ü"}, {"Key": "a" * 128, "Value": "é" * 256}])
    got = {t["Key"]: t["Value"] for t in ec2.describe_tags()["Tags"]}
    assert got["名前"] == "値 ✓ ü" and got["a" * 128] == "é" * 256
    cases = [
        ([{"Key": "a" * 129, "Value": ""}], "InvalidParameterValue"),
        ([{"Key": "x", "Value": "v" * 257}], "InvalidParameterValue"),
        ([{"Key": "aws:reserved", "Value": "x"}], "InvalidParameterValue"),
        ([{"Key": "", "Value": "x"}], "InvalidParameterValue"),
        ([{"Key": "k%d" % i, "Value": ""} for i in range(51)], "TagLimitExceeded"),
    ]
    for tags, code in cases:
        with pytest.raises(ClientError) as e:
            ec2.create_tags(Resources=[keys[1]], Tags=tags)
        assert err_code(e) == code, tags
    # 50 in total per resource, counting existing ones.
    ec2.create_tags(Resources=[keys[1]], Tags=[{"Key": "k%d" % i, "Value": ""} for i in range(50)])
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=[keys[1]], Tags=[{"Key": "one-more", "Value": ""}])
    assert err_code(e) == "TagLimitExceeded"
    # A failed call changes nothing.
    assert len([t for t in ec2.describe_tags()["Tags"] if t["ResourceId"] == keys[1]]) == 50


def test_bad_resources(ec2, keys):
    for rid, code in [("i-1234", "InvalidID"), ("garbage", "InvalidID"), ("key-0123456789abcdef0", "InvalidKeyPair.NotFound")]:
        with pytest.raises(ClientError) as e:
            ec2.create_tags(Resources=[keys[0], rid], Tags=[{"Key": "a", "Value": "b"}])
        assert err_code(e) == code and rid in e.value.response["Error"]["Message"]
    assert ec2.describe_tags()["Tags"] == []  # all or nothing


def test_tags_isolated_between_accounts(ec2, ec2b, keys):
    ec2.create_tags(Resources=keys, Tags=[{"Key": "owner", "Value": "a"}])
    kb = ec2b.create_key_pair(KeyName="b")["KeyPairId"]
    ec2b.create_tags(Resources=[kb], Tags=[{"Key": "owner", "Value": "b"}])
    assert {t["Value"] for t in ec2.describe_tags()["Tags"]} == {"a"}
    assert [t["ResourceId"] for t in ec2b.describe_tags()["Tags"]] == [kb]
    with pytest.raises(ClientError) as e:
        ec2b.delete_tags(Resources=[keys[0]])
    assert err_code(e) == "InvalidKeyPair.NotFound"
    assert len(ec2.describe_tags()["Tags"]) == 3


def test_aws_cli_tags(env):
    kid = env.aws("create-key-pair", "--key-name", "c")["KeyPairId"]
    env.aws("create-tags", "--resources", kid, "--tags", "Key=Name,Value=cli")
    r = env.aws("describe-tags", "--filters", "Name=resource-id,Values=" + kid)
    assert r["Tags"] == [{"Key": "Name", "ResourceId": kid, "ResourceType": "key-pair", "Value": "cli"}]
    env.aws("delete-tags", "--resources", kid, "--tags", "Key=Name")
    assert env.aws("describe-tags")["Tags"] == []
