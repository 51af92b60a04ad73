"""IAM instance profiles (issue #5): profiles declared in the config, the
association API through boto3 and the AWS CLI with its bad input, and the
role credentials as real clients nobody here wrote use them: Debian's
botocore inside a guest stand-in (a namespace the metadata service
attributes to a running tiny-AMI instance) fetches them with
InstanceMetadataFetcher and its default credential chain; the host then
calls hostd with them as the owning account. Rotation, disassociation and
expiry are watched with a 30 s credential lifetime."""
import calendar
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_A, ACCOUNT_B, HOSTD, Env, Hostd
from guests import TINY_AMI, cleanup_net, import_tiny, wait_state
from test_instances import finish

pytestmark = [pytest.mark.skipif(not os.path.exists(TINY_AMI), reason="make tiny-ami first"),
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")]

LIFETIME, REFRESH = 30, 20  # a new set when less than 20 s are left: every ~10 s
CURL = ["curl", "-s", "-m", "5", "-o", "-", "-w", "\\n%{http_code}"]


def config():
    return "\n".join([
        "[host]", "region = us-east-1", "stop_timeout_s = 20",
        "iam_credential_lifetime_s = %d" % LIFETIME, "iam_credential_refresh_s = %d" % REFRESH,
        "[account %s]" % ACCOUNT_A[0], "access_key = %s" % ACCOUNT_A[1], "secret_key = %s" % ACCOUNT_A[2],
        "instance_profile = web:web-role", "instance_profile = batch",
        "[account %s]" % ACCOUNT_B[0], "access_key = %s" % ACCOUNT_B[1], "secret_key = %s" % ACCOUNT_B[2],
        "instance_profile = other:other-role", ""])


@pytest.fixture(scope="module")
def ienv():
    d = tempfile.mkdtemp(prefix="hostd-iam-")
    e = Env(Hostd(os.path.join(d, "state"), config()))
    e.ami = import_tiny(e.client())
    e.ami_b = import_tiny(e.client(ACCOUNT_B))
    yield e
    finish(e, d)
    cleanup_net(os.path.join(d, "state"))
    shutil.rmtree(d, ignore_errors=True)


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def arn(acct, name):
    return "arn:aws:iam::%s:instance-profile/%s" % (acct, name)


def wait_assoc(c, aid, state, timeout=15):
    deadline = time.time() + timeout
    while True:
        a = c.describe_iam_instance_profile_associations(AssociationIds=[aid])["IamInstanceProfileAssociations"][0]
        if a["State"] == state or time.time() > deadline:
            assert a["State"] == state, a
            return a
        time.sleep(0.3)


def run(c, ami, **kw):
    return c.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1, **kw)["Instances"][0]


def test_profiles_and_associations_api(ienv):
    a, b = ienv.client(), ienv.client(ACCOUNT_B)
    # Unknown profiles, other accounts' ARNs and malformed ARNs are refused
    # before anything is launched.
    for kw, msg in [({"Name": "nope"}, "Value (nope) for parameter iamInstanceProfile.name is invalid. "
                     "Invalid IAM Instance Profile name"),
                    ({"Name": "other"}, "iamInstanceProfile.name is invalid"),
                    ({"Arn": arn(ACCOUNT_B[0], "other")}, "iamInstanceProfile.arn is invalid"),
                    ({"Arn": "arn:aws:iam::1:instance-profile/web"}, "iamInstanceProfile.arn is invalid"),
                    ({"Arn": "web"}, "iamInstanceProfile.arn is invalid")]:
        with pytest.raises(ClientError) as e:
            run(a, ienv.ami, IamInstanceProfile=kw)
        assert code(e)[0] == "InvalidParameterValue" and msg in code(e)[1], (kw, code(e))
    with pytest.raises(ClientError) as e:
        run(a, ienv.ami, IamInstanceProfile={"Name": "web", "Arn": arn(ACCOUNT_A[0], "batch")})
    assert code(e)[0] == "InvalidParameterCombination"
    assert a.describe_instances()["Reservations"] == []

    inst = run(a, ienv.ami, IamInstanceProfile={"Name": "web"})
    iid = inst["InstanceId"]
    plain = run(a, ienv.ami)["InstanceId"]
    try:
        prof = inst["IamInstanceProfile"]
        assert prof["Arn"] == arn(ACCOUNT_A[0], "web")
        assert re.fullmatch(r"AIPA[A-Z2-7]{17}", prof["Id"])
        got = a.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        assert got["IamInstanceProfile"] == prof
        assert "IamInstanceProfile" not in a.describe_instances(InstanceIds=[plain])["Reservations"][0]["Instances"][0]
        f = a.describe_instances(Filters=[{"Name": "iam-instance-profile.arn", "Values": [prof["Arn"]]}])
        assert [i["InstanceId"] for r in f["Reservations"] for i in r["Instances"]] == [iid]

        assocs = a.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
        assert len(assocs) == 1 and assocs[0]["InstanceId"] == iid
        aid = assocs[0]["AssociationId"]
        assert re.fullmatch(r"iip-assoc-[0-9a-f]{17}", aid)
        assert assocs[0]["IamInstanceProfile"] == prof
        wait_assoc(a, aid, "associated")
        # Another account sees none of it and cannot touch it.
        assert b.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"] == []
        with pytest.raises(ClientError) as e:
            b.disassociate_iam_instance_profile(AssociationId=aid)
        assert code(e)[0] == "InvalidAssociationID.NotFound"
        with pytest.raises(ClientError) as e:
            b.associate_iam_instance_profile(IamInstanceProfile={"Name": "other"}, InstanceId=iid)
        assert code(e)[0] == "InvalidInstanceID.NotFound"

        # One association per instance.
        with pytest.raises(ClientError) as e:
            a.associate_iam_instance_profile(IamInstanceProfile={"Name": "batch"}, InstanceId=iid)
        assert code(e) == ("IncorrectState", "There is an existing association for instance %s" % iid)
        for kw, c in [({"IamInstanceProfile": {}, "InstanceId": plain}, "MissingParameter"),
                      ({"IamInstanceProfile": {"Name": "batch"}, "InstanceId": "i-nope"},
                       "InvalidInstanceID.Malformed"),
                      ({"IamInstanceProfile": {"Name": "batch"}, "InstanceId": "i-0123456789abcdef0"},
                       "InvalidInstanceID.NotFound"),
                      ({"IamInstanceProfile": {"Name": "nope"}, "InstanceId": plain}, "InvalidParameterValue")]:
            with pytest.raises(ClientError) as e:
                a.associate_iam_instance_profile(**kw)
            assert code(e)[0] == c, (kw, code(e))

        # Replace: the old association ends, a new one (new id) begins.
        new = a.replace_iam_instance_profile_association(
            IamInstanceProfile={"Arn": arn(ACCOUNT_A[0], "batch")}, AssociationId=aid)["IamInstanceProfileAssociation"]
        assert new["AssociationId"] != aid and new["InstanceId"] == iid
        assert new["IamInstanceProfile"]["Arn"] == arn(ACCOUNT_A[0], "batch")
        assert new["State"] == "associating"
        wait_assoc(a, new["AssociationId"], "associated")
        assert wait_assoc(a, aid, "disassociated")
        got = a.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        assert got["IamInstanceProfile"]["Arn"] == arn(ACCOUNT_A[0], "batch")

        # The AWS CLI (botocore-validated) associates the plain instance.
        out = ienv.aws("associate-iam-instance-profile", "--iam-instance-profile", "Name=web",
                       "--instance-id", plain)
        passoc = out["IamInstanceProfileAssociation"]["AssociationId"]
        out = ienv.aws("describe-iam-instance-profile-associations", "--filters",
                       "Name=instance-id,Values=%s" % plain)
        assert [x["AssociationId"] for x in out["IamInstanceProfileAssociations"]] == [passoc]
        p = ienv.aws("associate-iam-instance-profile", "--iam-instance-profile", "Name=nope",
                     "--instance-id", plain, check=False)
        assert p.returncode != 0 and "InvalidParameterValue" in p.stderr

        # Filters, ids, pagination.
        byid = a.describe_iam_instance_profile_associations(AssociationIds=[aid, passoc])
        assert sorted(x["AssociationId"] for x in byid["IamInstanceProfileAssociations"]) == sorted([aid, passoc])
        live = a.describe_iam_instance_profile_associations(
            Filters=[{"Name": "state", "Values": ["associating", "associated"]}])["IamInstanceProfileAssociations"]
        assert sorted(x["InstanceId"] for x in live) == sorted([iid, plain])
        page = a.describe_iam_instance_profile_associations(MaxResults=5)
        assert len(page["IamInstanceProfileAssociations"]) == 3 and "NextToken" not in page
        with pytest.raises(ClientError) as e:
            a.describe_iam_instance_profile_associations(AssociationIds=["iip-assoc-0123456789abcdef0"])
        assert code(e)[0] == "InvalidAssociationID.NotFound"
        with pytest.raises(ClientError) as e:
            a.describe_iam_instance_profile_associations(Filters=[{"Name": "bogus", "Values": ["x"]}])
        assert code(e)[0] == "InvalidParameterValue"

        # Disassociate: disassociating, then disassociated; not twice.
        d = a.disassociate_iam_instance_profile(AssociationId=passoc)["IamInstanceProfileAssociation"]
        assert d["State"] == "disassociating" and d["InstanceId"] == plain
        wait_assoc(a, passoc, "disassociated")
        with pytest.raises(ClientError) as e:
            a.disassociate_iam_instance_profile(AssociationId=passoc)
        assert code(e)[0] == "InvalidAssociationID.NotFound"
        with pytest.raises(ClientError) as e:
            a.disassociate_iam_instance_profile(AssociationId="bogus")
        assert code(e)[0] == "InvalidAssociationID.NotFound"
        assert "IamInstanceProfile" not in a.describe_instances(InstanceIds=[plain])["Reservations"][0]["Instances"][0]
    finally:
        a.terminate_instances(InstanceIds=[iid, plain])
        wait_state(a, [iid, plain], "terminated")
    # Termination ends the association.
    live = a.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [iid]}])["IamInstanceProfileAssociations"]
    deadline = time.time() + 10
    while any(x["State"] != "disassociated" for x in live) and time.time() < deadline:
        time.sleep(0.3)
        live = a.describe_iam_instance_profile_associations(
            Filters=[{"Name": "instance-id", "Values": [iid]}])["IamInstanceProfileAssociations"]
    assert live and all(x["State"] == "disassociated" for x in live)


def test_bad_profile_config(tmp_path):
    for line, why in [("instance_profile = bad/name", "bad value"), ("instance_profile = .hidden", "bad value"),
                      ("instance_profile = x:" + "r" * 65, "bad value"),
                      ("instance_profile = web\ninstance_profile = web:other", "declared twice")]:
        cfg = "[account %s]\naccess_key = %s\nsecret_key = %s\n%s\n" % (ACCOUNT_A + (line,))
        p = tmp_path / "c.conf"
        p.write_text(cfg)
        out = subprocess.run([HOSTD, "--state-dir",
                              str(tmp_path / "s"), "--config", str(p)], capture_output=True, text=True, timeout=20)
        assert out.returncode != 0 and why in out.stderr, (line, out.stderr)


FETCH = r"""
import json, sys
import botocore.session, botocore.utils
c = botocore.utils.InstanceMetadataFetcher(timeout=5, num_attempts=3).retrieve_iam_role_credentials()
s = botocore.session.Session()
cr = s.get_credentials()
print(json.dumps({"fetcher": c, "chain": cr and [cr.method, cr.access_key, cr.secret_key, cr.token]}))
"""


def imds_get(s, path):
    """IMDSv2 GET from the stand-in: (status, body)."""
    tok = s.run(CURL + ["-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60",
                        "http://169.254.169.254/latest/api/token"]).stdout.rsplit("\n", 1)
    assert tok[1] == "200", tok
    out = s.run(CURL + ["-H", "X-aws-ec2-metadata-token: " + tok[0],
                        "http://169.254.169.254/latest/" + path]).stdout.rsplit("\n", 1)
    return int(out[1]), out[0]


def temp_client(env, creds):
    return env.client(("", creds["AccessKeyId"], creds["SecretAccessKey"]), aws_session_token=creds["Token"])


def test_role_credentials_from_the_guest(ienv):
    from standin import Standin
    a, b = ienv.client(), ienv.client(ACCOUNT_B)
    b.create_key_pair(KeyName="b-only")
    iid = run(a, ienv.ami, IamInstanceProfile={"Name": "web"})["InstanceId"]
    try:
        wait_state(a, [iid], "running")
        db = ienv.hostd.db()
        with Standin(a, db, iid) as s:
            st, info = imds_get(s, "meta-data/iam/info")
            assert st == 200, info
            info = json.loads(info)
            inst = a.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
            assert info["Code"] == "Success" and info["InstanceProfileArn"] == inst["IamInstanceProfile"]["Arn"]
            assert info["InstanceProfileId"] == inst["IamInstanceProfile"]["Id"]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["LastUpdated"])
            assert imds_get(s, "meta-data/iam/security-credentials/") == (200, "web-role")
            assert imds_get(s, "meta-data/iam/") == (200, "info\nsecurity-credentials/")
            assert imds_get(s, "meta-data/iam/security-credentials-extended/")[0] == 404
            st, raw = imds_get(s, "meta-data/iam/security-credentials/web-role")
            raw = json.loads(raw)
            assert set(raw) == {"Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey", "Token",
                                "Expiration"}
            assert raw["Type"] == "AWS-HMAC" and re.fullmatch(r"ASIA[A-Z2-7]{16}", raw["AccessKeyId"])
            assert len(raw["SecretAccessKey"]) == 40 and len(raw["Token"]) > 100

            # The instance identity role (every instance has one): EC2's
            # layout, but hostd's API does not take these keys.
            st, idinfo = imds_get(s, "meta-data/identity-credentials/ec2/info")
            assert st == 200 and json.loads(idinfo)["AccountId"] == ACCOUNT_A[0], idinfo
            st, ident = imds_get(s, "meta-data/identity-credentials/ec2/security-credentials/ec2-instance")
            ident = json.loads(ident)
            assert ident["Type"] == "AWS-HMAC" and re.fullmatch(r"ASIA[A-Z2-7]{16}", ident["AccessKeyId"])
            assert ident["AccessKeyId"] != raw["AccessKeyId"] and len(ident["SecretAccessKey"]) == 40
            with pytest.raises(ClientError) as e:
                temp_client(ienv, ident).describe_instances()
            assert code(e)[0] == "AuthFailure"

            # botocore's own IMDS fetcher and default credential chain.
            out = json.loads(s.python(FETCH).stdout)
            f, chain = out["fetcher"], out["chain"]
            assert f["role_name"] == "web-role" and f["access_key"].startswith("ASIA"), out
            assert chain[0] == "iam-role" and chain[1].startswith("ASIA"), out
            for creds in ({"AccessKeyId": f["access_key"], "SecretAccessKey": f["secret_key"],
                           "Token": f["token"]},
                          {"AccessKeyId": chain[1], "SecretAccessKey": chain[2], "Token": chain[3]}):
                t = temp_client(ienv, creds)
                seen = [i["InstanceId"] for r in t.describe_instances()["Reservations"] for i in r["Instances"]]
                assert iid in seen
                # Account A's view, never B's.
                assert "b-only" not in [k["KeyName"] for k in t.describe_key_pairs()["KeyPairs"]]
            # A mutation as A works too.
            t = temp_client(ienv, raw)
            t.create_tags(Resources=[iid], Tags=[{"Key": "by", "Value": "role"}])
            assert [(x["Key"], x["Value"]) for x in a.describe_tags(
                Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]] == [("by", "role")]
            assert b.describe_instances()["Reservations"] == []

            # Account B's role credentials (an instance of B's, its tree
            # read on the host) act as B: A's instance is out of sight and
            # out of reach.
            bid = run(b, ienv.ami_b, IamInstanceProfile={"Name": "other"})["InstanceId"]
            try:
                f = os.path.join(ienv.hostd.state_dir, "instances", bid, "imds", "meta-data", "iam",
                                 "security-credentials", "other-role")
                deadline = time.time() + 60
                while not os.path.exists(f) and time.time() < deadline:
                    time.sleep(0.3)
                with open(f) as fh:
                    tb = temp_client(ienv, json.load(fh))
                seen = [i["InstanceId"] for r in tb.describe_instances()["Reservations"] for i in r["Instances"]]
                assert seen == [bid]
                assert [k["KeyName"] for k in tb.describe_key_pairs()["KeyPairs"]] == ["b-only"]
                with pytest.raises(ClientError) as e:
                    tb.create_tags(Resources=[iid], Tags=[{"Key": "from", "Value": "b"}])
                assert code(e)[0] == "InvalidInstanceID.NotFound", code(e)
                with pytest.raises(ClientError) as e:
                    tb.terminate_instances(InstanceIds=[iid])
                assert code(e)[0] == "InvalidInstanceID.NotFound", code(e)
            finally:
                b.terminate_instances(InstanceIds=[bid])

            # A presigned GET carries the token as X-Amz-Security-Token.
            url = t.generate_presigned_url("describe_instances", Params={"InstanceIds": [iid]}, ExpiresIn=60,
                                           HttpMethod="GET")
            assert "X-Amz-Security-Token=" in url
            with urllib.request.urlopen(url, timeout=10) as resp:
                assert iid in resp.read().decode()
            bad = re.sub(r"X-Amz-Security-Token=[^&]+", "X-Amz-Security-Token=forged", url)
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(bad, timeout=10)
            assert e.value.code == 401 and b"AuthFailure" in e.value.read()

            # Without the token, with another token, with a forged key: refused.
            for kw in ({"aws_session_token": None}, {"aws_session_token": "x" + raw["Token"][1:]}):
                c = ienv.client(("", raw["AccessKeyId"], raw["SecretAccessKey"]), **kw)
                with pytest.raises(ClientError) as e:
                    c.describe_instances()
                assert code(e)[0] == "AuthFailure"
            c = temp_client(ienv, dict(raw, AccessKeyId="ASIA" + "A" * 16))
            with pytest.raises(ClientError) as e:
                c.describe_instances()
            assert code(e)[0] == "AuthFailure"
            c = temp_client(ienv, dict(raw, SecretAccessKey="x" * 40))
            with pytest.raises(ClientError) as e:
                c.describe_instances()
            assert code(e)[0] in ("AuthFailure", "SignatureDoesNotMatch")
        db.close()
    finally:
        a.terminate_instances(InstanceIds=[iid])
        wait_state(a, [iid], "terminated")


def test_rotation_disassociation_expiry(ienv):
    from standin import Standin
    a = ienv.client()
    iid = run(a, ienv.ami, IamInstanceProfile={"Name": "batch"})["InstanceId"]
    try:
        wait_state(a, [iid], "running")
        db = ienv.hostd.db()
        with Standin(a, db, iid) as s:
            path = "meta-data/iam/security-credentials/batch"
            st, first = imds_get(s, path)
            assert st == 200, first
            first = json.loads(first)
            exp1 = calendar.timegm(time.strptime(first["Expiration"], "%Y-%m-%dT%H:%M:%SZ"))
            assert LIFETIME - 5 <= exp1 - time.time() <= LIFETIME + 1
            # Rotation: a new key once fewer than REFRESH seconds are left,
            # while the old one still has time.
            deadline = time.time() + LIFETIME
            while True:
                second = json.loads(imds_get(s, path)[1])
                if second["AccessKeyId"] != first["AccessKeyId"] or time.time() > deadline:
                    break
                time.sleep(0.5)
            rotated_at = time.time()
            assert second["AccessKeyId"] != first["AccessKeyId"], "no rotation within %d s" % LIFETIME
            assert exp1 - rotated_at >= REFRESH - 3, (exp1 - rotated_at)
            assert second["Expiration"] > first["Expiration"] and second["Token"] != first["Token"]
            old, new = temp_client(ienv, first), temp_client(ienv, second)
            assert old.describe_instances(InstanceIds=[iid])["Reservations"]
            assert new.describe_instances(InstanceIds=[iid])["Reservations"]

            # Disassociation: iam/ is gone from the tree at once...
            aid = a.describe_iam_instance_profile_associations(
                Filters=[{"Name": "instance-id", "Values": [iid]}])["IamInstanceProfileAssociations"][0]
            a.disassociate_iam_instance_profile(AssociationId=aid["AssociationId"])
            for p in ("meta-data/iam/info", "meta-data/iam/security-credentials/", path, "meta-data/iam/"):
                assert imds_get(s, p)[0] == 404, p
            assert "iam" not in imds_get(s, "meta-data/")[1].split("\n")
            # ...credentials handed out work until their Expiration, then
            # are refused as expired.
            assert new.describe_instances(InstanceIds=[iid])["Reservations"]
            time.sleep(max(0, exp1 - time.time()) + 1.5)
            with pytest.raises(ClientError) as e:
                old.describe_instances()
            assert code(e)[0] == "RequestExpired", code(e)
            exp2 = calendar.timegm(time.strptime(second["Expiration"], "%Y-%m-%dT%H:%M:%SZ"))
            assert new.describe_instances(InstanceIds=[iid])["Reservations"]
            time.sleep(max(0, exp2 - time.time()) + 1.5)
            with pytest.raises(ClientError) as e:
                new.describe_instances()
            assert code(e)[0] == "RequestExpired", code(e)
            assert imds_get(s, path)[0] == 404
        db.close()
    finally:
        a.terminate_instances(InstanceIds=[iid])
        wait_state(a, [iid], "terminated")


def test_credentials_survive_a_restart():
    """Associations and credentials are state: a restarted hostd (guests run
    on) still accepts the set it handed out, serves it in the tree and
    rotates on schedule."""
    d = tempfile.mkdtemp(prefix="hostd-iam-")  # short: libvirt's socket paths
    e = Env(Hostd(os.path.join(d, "state"), config()))
    try:
        a = e.client()
        ami = import_tiny(a)
        iid = run(a, ami, IamInstanceProfile={"Name": "web"})["InstanceId"]
        wait_state(a, [iid], "running")
        f = os.path.join(e.hostd.state_dir, "instances", iid, "imds", "meta-data", "iam", "security-credentials",
                         "web-role")
        with open(f) as fh:
            before = json.load(fh)
        assert e.hostd.stop() == 0
        e.hostd = Hostd(e.hostd.state_dir, config())
        a = e.client()
        with open(f) as fh:
            after = json.load(fh)
        # Unless it fell due meanwhile, the same set.
        assert after["AccessKeyId"] == before["AccessKeyId"] or after["LastUpdated"] > before["LastUpdated"]
        assert temp_client(e, before).describe_instances(InstanceIds=[iid])["Reservations"]
        (assoc,) = a.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
        assert assoc["State"] == "associated" and assoc["InstanceId"] == iid
        deadline = time.time() + LIFETIME
        while time.time() < deadline:
            with open(f) as fh:
                now = json.load(fh)
            if now["AccessKeyId"] != before["AccessKeyId"]:
                break
            time.sleep(0.5)
        assert now["AccessKeyId"] != before["AccessKeyId"], "no rotation after the restart"
        assert temp_client(e, now).describe_instances(InstanceIds=[iid])["Reservations"]
        a.terminate_instances(InstanceIds=[iid])
        wait_state(a, [iid], "terminated")
    finally:
        finish(e, d)
        cleanup_net(os.path.join(d, "state"))
        shutil.rmtree(d, ignore_errors=True)
