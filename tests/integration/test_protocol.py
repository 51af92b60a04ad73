"""The Query protocol's edges: GET and POST, DryRun, request ids, unknown
actions and parameters, malformed encodings, duplicates, oversize bodies,
wrong types, throttling, restart persistence, the generated account."""

import configparser
import os
import re
import stat
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_A, Env, Hostd, config_text
from ec2_validator import validate_response
from sign import botocore_signed, send


def code_of(body):
    return re.search(rb"<Code>([^<]*)</Code>", body).group(1).decode()


def msg_of(body):
    return re.search(rb"<Message>([^<]*)</Message>", body).group(1).decode()


def post_raw(env, body, extra_headers=None):
    """POST an arbitrary body signed by botocore (so auth passes and the
    parser is what gets tested)."""
    import botocore.auth, botocore.awsrequest, botocore.credentials
    ep = env.hostd.endpoint
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(extra_headers or {})
    req = botocore.awsrequest.AWSRequest(method="POST", url=ep + "/", data=body, headers=h)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ACCOUNT_A[1], ACCOUNT_A[2]), "ec2",
                            "us-east-1").add_auth(req)
    p = req.prepare()
    return send(ep, "POST", "/", dict(p.headers), body)


def test_dry_run(ec2):
    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName="dry", DryRun=True)
    assert e.value.response["Error"]["Code"] == "DryRunOperation"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert "Request would have succeeded, but DryRun flag is set." == e.value.response["Error"]["Message"]
    assert ec2.describe_key_pairs()["KeyPairs"] == []


def test_request_ids_unique(ec2):
    ids = {ec2.describe_regions()["ResponseMetadata"]["RequestId"] for _ in range(20)}
    assert len(ids) == 20
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i) for i in ids)


@pytest.mark.parametrize("body,code,needle", [
    (b"Version=2016-11-15", "MissingAction", "Action"),
    (b"Action=LaunchRockets&Version=2016-11-15", "InvalidAction", "LaunchRockets"),
    (b"Action=DescribeRegions", "MissingParameter", "Version"),
    (b"Action=DescribeRegions&Version=2016-11-15&Bogus=1", "UnknownParameter", "Bogus"),
    (b"Action=DescribeRegions&Version=2016-11-15&RegionName.0=x", "UnknownParameter", "RegionName.0"),
    (b"Action=DescribeRegions&Version=2016-11-15&RegionName.01=x", "UnknownParameter", "RegionName.01"),
    (b"Action=DescribeRegions&Version=2016-11-15&DryRun=maybe", "InvalidParameterValue", "DryRun"),
    (b"Action=DescribeTags&Version=2016-11-15&MaxResults=abc", "InvalidParameterValue", "MaxResults"),
    (b"Action=DescribeTags&Version=2016-11-15&MaxResults=99999999999999999999", "InvalidParameterValue", "MaxResults"),
    (b"Action=DescribeTags&Version=2016-11-15&MaxResults=1000000", "InvalidParameterValue", "MaxResults"),
    (b"Action=DescribeRegions&Version=2016-11-15&Version=2016-11-15", "InvalidParameterCombination", "Version"),
    (b"Action=DescribeRegions&Version=2016-11-15&RegionName.1=%zz", "MalformedQueryString", "percent"),
    (b"Action=DescribeRegions&Version=2016-11-15&RegionName.1=%4", "MalformedQueryString", "percent"),
    (b"Action=DescribeRegions&Version=2016-11-15&RegionName.1=%ff%fe", "MalformedQueryString", "UTF-8"),
    (b"Action=DescribeRegions&Version=2016-11-15&RegionName.1=a%00b", "MalformedQueryString", "UTF-8"),
    (b"Action=CreateKeyPair&Version=2016-11-15", "MissingParameter", "KeyName"),
    (b"Action=CreateTags&Version=2016-11-15&Tag.1.Key=a", "MissingParameter", "ResourceId"),
    (b"Action=DescribeKeyPairs&Version=2016-11-15&Filter.1.Value.1=x", "MissingParameter", "Filter.1.Name"),
    (b"Action=DescribeKeyPairs&Version=2016-11-15&Filter.1.Name=key-name", "InvalidParameterValue", "key-name"),
    (b"Action=ImportKeyPair&Version=2016-11-15&KeyName=a&PublicKeyMaterial=%21%21%21", "InvalidParameterValue", "PublicKeyMaterial"),
])
def test_bad_requests(env, body, code, needle):
    st, out = post_raw(env, body)
    assert st == 400, out
    assert code_of(out) == code, out
    assert needle in msg_of(out), out
    action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action", ["DescribeRegions"])[0]
    validate_response(action if action != "LaunchRockets" else "DescribeRegions", st, out)


def test_oversize_body(env):
    st, out = post_raw(env, b"Action=DescribeRegions&Version=2016-11-15&RegionName.1=" + b"a" * (2 << 20))
    assert st == 413 and code_of(out) == "RequestEntityTooLarge"
    # Still serving.
    assert env.client().describe_regions()["Regions"]


def test_many_params_and_huge_values(env):
    body = "Action=DescribeRegions&Version=2016-11-15&" + "&".join("RegionName.%d=us-east-1" % i for i in range(1, 3000))
    st, out = post_raw(env, body.encode())
    assert st == 200, out[:300]
    body = "Action=DescribeRegions&Version=2016-11-15&" + "&".join("X%d=1" % i for i in range(5000))
    st, out = post_raw(env, body.encode())
    assert st == 400 and code_of(out) == "MalformedQueryString"


def test_get_form(env):
    st, out = botocore_signed(env.hostd.endpoint, {"Action": "DescribeAvailabilityZones", "Version": "2016-11-15"},
                              ACCOUNT_A[1], ACCOUNT_A[2], method="GET")
    assert st == 200
    validate_response("DescribeAvailabilityZones", st, out)


def test_throttling(state_dir):
    h = Hostd(state_dir, config_text(extra="[throttle]\ndescribe_burst = 5\ndescribe_rate = 0.2\n"))
    try:
        env = Env(h)
        c = env.client()
        codes = []
        for _ in range(8):
            try:
                c.describe_regions()
                codes.append("ok")
            except ClientError as e:
                codes.append(e.response["Error"]["Code"])
                assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert codes[:5] == ["ok"] * 5 and codes[5:] == ["RequestLimitExceeded"] * 3
        # Buckets are per account and per class: B and mutations still pass.
        from conftest import ACCOUNT_B
        env.client(ACCOUNT_B).describe_regions()
        c.create_key_pair(KeyName="mutations-have-their-own-bucket")
        assert env.sink == []
    finally:
        assert h.stop() == 0


def test_generated_account_and_restart(state_dir):
    h = Hostd(state_dir)
    try:
        path = os.path.join(state_dir, "credentials")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        cp = configparser.ConfigParser()
        cp.read(path)
        ak, sk = cp["default"]["aws_access_key_id"], cp["default"]["aws_secret_access_key"]
        assert re.fullmatch(r"AKIA[A-Z2-7]{16}", ak) and len(sk) == 40
        env = Env(h)
        c = env.client(("", ak, sk))
        kid = c.create_key_pair(KeyName="persist")["KeyPairId"]
        c.create_tags(Resources=[kid], Tags=[{"Key": "k", "Value": "v"}])
    finally:
        assert h.stop() == 0
    # Same state dir: same account, same keys, same data.
    h = Hostd(state_dir)
    try:
        env = Env(h)
        c = env.client(("", ak, sk))
        assert [k["KeyPairId"] for k in c.describe_key_pairs()["KeyPairs"]] == [kid]
        assert c.describe_tags()["Tags"][0]["Value"] == "v"
        assert env.sink == []
    finally:
        assert h.stop() == 0


def test_config_errors(state_dir, tmp_path):
    import subprocess
    from conftest import HOSTD
    for text, needle in [("[host]\nregoin = x\n", "regoin"), ("[nope]\n", "nope"),
                         ("[account 12]\naccess_key=AKIAXXXXXXXXXXXXXXXX\nsecret_key=xxxxxxxxxxxxxxxxxxxx\n", "12 digits"),
                         ("[throttle]\ndescribe_rate = -1\n", "describe_rate")]:
        cfg = tmp_path / "bad.conf"
        cfg.write_text(text)
        p = subprocess.run([HOSTD, "--state-dir", state_dir, "--config", str(cfg), "--listen", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode != 0 and needle in p.stderr, (text, p.stderr)
