"""SigV4: header and query-string forms, clock skew, unknown keys, wrong
secrets, session tokens."""

import datetime
import re
import time

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_A, ACCOUNT_B
from ec2_validator import validate_response
from sign import botocore_signed, openssl_signed

DESCRIBE = {"Action": "DescribeRegions", "Version": "2016-11-15"}


def code_of(body):
    return re.search(rb"<Code>([^<]*)</Code>", body).group(1).decode()


def test_header_and_query_forms(env):
    ep, (_, ak, sk) = env.hostd.endpoint, ACCOUNT_A
    for method, qa in (("POST", False), ("GET", False), ("GET", True), ("POST", True)):
        st, body = botocore_signed(ep, DESCRIBE, ak, sk, method=method, query_auth=qa)
        assert st == 200, (method, qa, body)
        validate_response("DescribeRegions", st, body)


def test_query_params_with_awkward_characters(env, ec2):
    # Values with spaces, unicode, '~', '*', '/' and '+' in a GET query.
    kid = ec2.create_key_pair(KeyName="k")["KeyPairId"]
    params = {"Action": "CreateTags", "Version": "2016-11-15", "ResourceId.1": kid,
              "Tag.1.Key": "a b/c~d*e+f", "Tag.1.Value": "ü ✓ %41 &="}
    st, body = botocore_signed(env.hostd.endpoint, params, ACCOUNT_A[1], ACCOUNT_A[2], method="GET")
    assert st == 200, body
    t = ec2.describe_tags()["Tags"][0]
    assert (t["Key"], t["Value"]) == ("a b/c~d*e+f", "ü ✓ %41 &=")


def test_openssl_signer(env):
    st, body = openssl_signed(env.hostd.endpoint, b"Action=DescribeRegions&Version=2016-11-15",
                              ACCOUNT_A[1], ACCOUNT_A[2], extra_headers={"x-extra": "  a   b  "})
    assert st == 200, body
    validate_response("DescribeRegions", st, body)


def test_clock_skew_window(env):
    ep, (_, ak, sk) = env.hostd.endpoint, ACCOUNT_A
    now = datetime.datetime.now(datetime.timezone.utc)
    body = b"Action=DescribeRegions&Version=2016-11-15"
    for minutes, ok in ((-14, True), (14, True), (-16, False), (16, False)):
        st, out = openssl_signed(ep, body, ak, sk, when=now + datetime.timedelta(minutes=minutes))
        if ok:
            assert st == 200, (minutes, out)
        else:
            assert st == 400 and code_of(out) == "RequestExpired", (minutes, out)
            validate_response("DescribeRegions", st, out)


def test_wrong_scope(env):
    ep, (_, ak, sk) = env.hostd.endpoint, ACCOUNT_A
    body = b"Action=DescribeRegions&Version=2016-11-15"
    for kw in ({"region": "eu-west-1"}, {"service": "s3"}):
        st, out = openssl_signed(ep, body, ak, sk, **kw)
        assert st == 403 and code_of(out) == "SignatureDoesNotMatch", (kw, out)


def test_unknown_key_and_wrong_secret(env):
    bad = env.client(("999999999999", "AKIAUNKNOWNUNKNOWN00", "x" * 40))
    with pytest.raises(ClientError) as e:
        bad.describe_regions()
    assert e.value.response["Error"]["Code"] == "AuthFailure"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    wrong = env.client((ACCOUNT_A[0], ACCOUNT_A[1], "not-the-secret" * 3))
    with pytest.raises(ClientError) as e:
        wrong.describe_regions()
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_tampered_body_fails(env):
    # Sign one body, send another: the payload hash must catch it.
    ep, (_, ak, sk) = env.hostd.endpoint, ACCOUNT_A
    from sign import send
    import botocore.auth, botocore.awsrequest, botocore.credentials
    req = botocore.awsrequest.AWSRequest(method="POST", url=ep + "/", data="Action=DescribeRegions&Version=2016-11-15",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ak, sk), "ec2", "us-east-1").add_auth(req)
    p = req.prepare()
    st, out = send(ep, "POST", "/", dict(p.headers), b"Action=DescribeKeyPairs&Version=2016-11-15")
    assert st == 403 and code_of(out) == "SignatureDoesNotMatch"


def test_unsigned_and_malformed(env):
    from sign import send
    ep = env.hostd.endpoint
    st, out = send(ep, "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
                   b"Action=DescribeRegions&Version=2016-11-15")
    assert st == 401 and code_of(out) == "AuthFailure"
    validate_response("DescribeRegions", st, out)
    for auth in ("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=AKIA/x", "Basic Zm9vOmJhcg==",
                 "AWS4-HMAC-SHA256 Credential=%s/20200101/us-east-1/ec2/aws4_request, SignedHeaders=host" % ACCOUNT_A[1]):
        st, out = send(ep, "POST", "/", {"Authorization": auth, "X-Amz-Date": "20200101T000000Z"},
                       b"Action=DescribeRegions&Version=2016-11-15")
        assert st in (400, 401, 403), (auth, out)
        assert code_of(out) in ("IncompleteSignature", "AuthFailure", "SignatureDoesNotMatch", "RequestExpired")


def test_session_token(env):
    """Temporary credentials (the IAM role path) must carry their token."""
    db = env.hostd.db()
    exp = int((time.time() + 3600) * 1000)
    db.execute("INSERT INTO credentials(access_key, secret_key, account_id, session_token, expires_ms, source) "
               "VALUES ('ASIATEMPORARYKEY0001', 'tempsecret0123456789', ?, 'tok-123', ?, 'temporary')",
               (ACCOUNT_B[0], exp))
    db.execute("INSERT INTO credentials(access_key, secret_key, account_id, session_token, expires_ms, source) "
               "VALUES ('ASIAEXPIREDKEY000001', 'tempsecret0123456789', ?, 'tok-old', 1000, 'temporary')",
               (ACCOUNT_B[0],))
    db.commit()
    db.close()
    tmp = env.client(("", "ASIATEMPORARYKEY0001", "tempsecret0123456789"), aws_session_token="tok-123")
    tmp.create_key_pair(KeyName="from-role")
    # The temporary key acts as its account (B), not A.
    assert [k["KeyName"] for k in env.client(ACCOUNT_B).describe_key_pairs()["KeyPairs"]] == ["from-role"]
    assert env.client(ACCOUNT_A).describe_key_pairs()["KeyPairs"] == []
    for token in ("wrong", None):
        c = env.client(("", "ASIATEMPORARYKEY0001", "tempsecret0123456789"), aws_session_token=token)
        with pytest.raises(ClientError) as e:
            c.describe_key_pairs()
        assert e.value.response["Error"]["Code"] == "AuthFailure"
    c = env.client(("", "ASIAEXPIREDKEY000001", "tempsecret0123456789"), aws_session_token="tok-old")
    with pytest.raises(ClientError) as e:
        c.describe_key_pairs()
    assert e.value.response["Error"]["Code"] == "RequestExpired"
    assert "expired" in e.value.response["Error"]["Message"]
