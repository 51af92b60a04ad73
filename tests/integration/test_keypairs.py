"""Key pairs through boto3 and the AWS CLI; fingerprints checked with
openssl and ssh-keygen, the tools EC2's documentation uses."""

import base64
import os
import re
import subprocess
import tempfile

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_A
from ec2_validator import validate_response
from sign import botocore_signed


def run(args, data=None):
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


def colon_hex(digest_output):
    # "(stdin)= ab:cd:..." from openssl dgst -c
    return digest_output.decode().strip().split("= ")[-1]


def err_code(exc):
    return exc.value.response["Error"]["Code"]


def test_create_rsa_fingerprint_is_sha1_of_pkcs8(ec2):
    r = ec2.create_key_pair(KeyName="rsa1")
    pem = r["KeyMaterial"].encode()
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    der = run(["openssl", "pkcs8", "-nocrypt", "-topk8", "-outform", "DER"], pem)
    assert r["KeyFingerprint"] == colon_hex(run(["openssl", "sha1", "-c"], der))
    assert re.fullmatch(r"key-[0-9a-f]{17}", r["KeyPairId"])
    d = ec2.describe_key_pairs(KeyNames=["rsa1"], IncludePublicKey=True)["KeyPairs"][0]
    assert d["KeyFingerprint"] == r["KeyFingerprint"] and d["KeyType"] == "rsa"
    # The stored public key is the private key's.
    with tempfile.NamedTemporaryFile() as f:
        f.write(pem)
        f.flush()
        os.chmod(f.name, 0o600)
        pub = run(["ssh-keygen", "-y", "-f", f.name]).decode().split()[:2]
    assert d["PublicKey"].split()[:2] == pub


def test_create_ed25519_openssh_private_key(ec2):
    r = ec2.create_key_pair(KeyName="ed", KeyType="ed25519")
    assert r["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    with tempfile.NamedTemporaryFile() as f:
        f.write(r["KeyMaterial"].encode())
        f.flush()
        os.chmod(f.name, 0o600)
        fp = run(["ssh-keygen", "-l", "-E", "sha256", "-f", f.name]).decode()
    digest = re.search(r"SHA256:(\S+)", fp).group(1)
    assert r["KeyFingerprint"].rstrip("=") == digest
    assert len(base64.b64decode(r["KeyFingerprint"])) == 32


def test_import_rsa_md5_of_der_and_ed25519(ec2, tmp_path):
    key = tmp_path / "id"
    run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(key)])
    pub = (tmp_path / "id.pub").read_bytes()
    r = ec2.import_key_pair(KeyName="imp", PublicKeyMaterial=pub)
    spki = run(["ssh-keygen", "-e", "-m", "PKCS8", "-f", str(tmp_path / "id.pub")])
    der = run(["openssl", "pkey", "-pubin", "-outform", "DER"], spki)
    assert r["KeyFingerprint"] == colon_hex(run(["openssl", "md5", "-c"], der))

    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "ed")])
    r = ec2.import_key_pair(KeyName="imp-ed", PublicKeyMaterial=(tmp_path / "ed.pub").read_bytes())
    fp = run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "ed.pub")]).decode()
    assert r["KeyFingerprint"].rstrip("=") == re.search(r"SHA256:(\S+)", fp).group(1)
    types = {k["KeyName"]: k["KeyType"] for k in ec2.describe_key_pairs()["KeyPairs"]}
    assert types == {"imp": "rsa", "imp-ed": "ed25519"}


def test_import_rejects_bad_material(ec2, tmp_path):
    for bad in [b"not a key", b"ssh-rsa AAAA", b""]:
        with pytest.raises(ClientError) as e:
            ec2.import_key_pair(KeyName="bad", PublicKeyMaterial=bad or b" ")
        assert err_code(e) in ("InvalidKey.Format", "MissingParameter")
    run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(tmp_path / "ec")])
    with pytest.raises(ClientError) as e:
        ec2.import_key_pair(KeyName="bad", PublicKeyMaterial=(tmp_path / "ec.pub").read_bytes())
    assert err_code(e) == "InvalidKey.Format"
    assert ec2.describe_key_pairs()["KeyPairs"] == []


def test_duplicate_and_not_found(ec2):
    ec2.create_key_pair(KeyName="k")
    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName="k")
    assert err_code(e) == "InvalidKeyPair.Duplicate"
    with pytest.raises(ClientError) as e:
        ec2.describe_key_pairs(KeyNames=["k", "nope"])
    assert err_code(e) == "InvalidKeyPair.NotFound" and "nope" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        ec2.describe_key_pairs(KeyPairIds=["key-zz"])
    assert err_code(e) == "InvalidKeyPair.Malformed"


def test_bad_names_and_types(ec2):
    for kw, code in [({"KeyName": "x" * 256}, "InvalidParameterValue"),
                     ({"KeyName": "caf\u00e9"}, "InvalidParameterValue"),
                     ({"KeyName": "k", "KeyType": "dsa"}, "InvalidParameterValue"),
                     ({"KeyName": "k", "KeyFormat": "der"}, "InvalidParameterValue")]:
        with pytest.raises(ClientError) as e:
            ec2.create_key_pair(**kw)
        assert err_code(e) == code, kw


def test_delete_by_name_and_id(env, ec2):
    a = ec2.create_key_pair(KeyName="a")
    ec2.create_key_pair(KeyName="b")
    ec2.create_tags(Resources=[a["KeyPairId"]], Tags=[{"Key": "t", "Value": "v"}])
    # Debian's boto3 predates DeleteKeyPair's output members: read the XML.
    st, body = botocore_signed(env.hostd.endpoint, {"Action": "DeleteKeyPair", "Version": "2016-11-15",
                                                    "KeyPairId": a["KeyPairId"]}, ACCOUNT_A[1], ACCOUNT_A[2])
    assert st == 200
    validate_response("DeleteKeyPair", st, body)
    assert b"<return>true</return>" in body and ("<keyPairId>%s</keyPairId>" % a["KeyPairId"]).encode() in body
    ec2.delete_key_pair(KeyName="b")
    ec2.delete_key_pair(KeyName="never-existed")  # EC2 answers true
    assert ec2.describe_key_pairs()["KeyPairs"] == []
    assert ec2.describe_tags()["Tags"] == []


def test_filters_and_tag_specifications(ec2):
    ec2.create_key_pair(KeyName="web-1", TagSpecifications=[
        {"ResourceType": "key-pair", "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "a"}]}])
    ec2.create_key_pair(KeyName="web-2", KeyType="ed25519",
                        TagSpecifications=[{"ResourceType": "key-pair", "Tags": [{"Key": "env", "Value": "dev"}]}])
    ec2.create_key_pair(KeyName="db-1")

    def names(**kw):
        return sorted(k["KeyName"] for k in ec2.describe_key_pairs(**kw)["KeyPairs"])

    assert names(Filters=[{"Name": "key-name", "Values": ["web-*"]}]) == ["web-1", "web-2"]
    assert names(Filters=[{"Name": "key-name", "Values": ["web-?"]}, {"Name": "key-type", "Values": ["rsa"]}]) == ["web-1"]
    assert names(Filters=[{"Name": "tag:env", "Values": ["prod", "dev"]}]) == ["web-1", "web-2"]
    assert names(Filters=[{"Name": "tag-key", "Values": ["team"]}]) == ["web-1"]
    assert names(Filters=[{"Name": "tag-value", "Values": ["d*"]}]) == ["web-2"]
    assert names(Filters=[{"Name": "key-name", "Values": ["*"]}]) == ["db-1", "web-1", "web-2"]
    with pytest.raises(ClientError) as e:
        names(Filters=[{"Name": "bogus", "Values": ["x"]}])
    assert err_code(e) == "InvalidParameterValue" and "bogus" in e.value.response["Error"]["Message"]
    tags = ec2.describe_key_pairs(KeyNames=["web-1"])["KeyPairs"][0]["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "prod"), ("team", "a")]
    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName="x", TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}])
    assert err_code(e) == "InvalidParameterValue"


def test_accounts_do_not_see_each_other(ec2, ec2b):
    a = ec2.create_key_pair(KeyName="shared-name")
    b = ec2b.create_key_pair(KeyName="shared-name")  # same name, other account: fine
    assert a["KeyPairId"] != b["KeyPairId"]
    ec2.create_key_pair(KeyName="only-a")
    assert [k["KeyName"] for k in ec2b.describe_key_pairs()["KeyPairs"]] == ["shared-name"]
    with pytest.raises(ClientError) as e:
        ec2b.describe_key_pairs(KeyPairIds=[a["KeyPairId"]])
    assert err_code(e) == "InvalidKeyPair.NotFound"
    with pytest.raises(ClientError) as e:
        ec2b.create_tags(Resources=[a["KeyPairId"]], Tags=[{"Key": "x", "Value": "y"}])
    assert err_code(e) == "InvalidKeyPair.NotFound"
    ec2b.delete_key_pair(KeyPairId=a["KeyPairId"])  # no effect on A's key
    assert len(ec2.describe_key_pairs()["KeyPairs"]) == 2


def test_aws_cli(env, tmp_path):
    r = env.aws("create-key-pair", "--key-name", "cli", "--key-type", "ed25519")
    assert r["KeyName"] == "cli" and r["KeyMaterial"].startswith("-----BEGIN OPENSSH")
    run(["ssh-keygen", "-q", "-t", "rsa", "-N", "", "-f", str(tmp_path / "k")])
    r = env.aws("import-key-pair", "--key-name", "cli-imp", "--public-key-material",
                "fileb://" + str(tmp_path / "k.pub"))
    assert ":" in r["KeyFingerprint"]
    r = env.aws("describe-key-pairs", "--filters", "Name=key-name,Values=cli*")
    assert sorted(k["KeyName"] for k in r["KeyPairs"]) == ["cli", "cli-imp"]
    env.aws("delete-key-pair", "--key-name", "cli")
    p = env.aws("describe-key-pairs", "--key-names", "cli", check=False)
    assert p.returncode != 0 and "InvalidKeyPair.NotFound" in p.stderr
