"""The metadata a real guest sees (issue #5): a tiny-AMI guest fetches its
metadata with an IMDSv2 token and prints it; the test compares it with
DescribeInstances, walks the whole tree as cloud-init does (every listed
entry must be fetchable), verifies the identity document's three signature
forms with the openssl CLI against the published host CA, and turns
HttpTokens to required on the running guest, which then gets 401 without
a reboot. Also the account's metadata defaults."""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import ACCOUNT_A, ACCOUNT_B, ROOT, Env, Hostd, config_text
from ec2_validator import _get_model, validate_response
from sign import botocore_signed
from guests import TINY_AMI, wait_marker, wait_state
from test_instances import finish, import_tiny, make_env

pytestmark = pytest.mark.skipif(not os.path.exists(TINY_AMI), reason="make tiny-ami first")

PIPE = os.environ.get("IMDS_PIPE_BIN") or os.path.join(ROOT, "build", "bin", "hostd-imds-pipe")

USER_DATA = r"""#!/bin/sh
A=169.254.169.254:80
T=$(imds -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 600' $A /latest/api/token)
g() { imds -H "X-aws-ec2-metadata-token: $T" $A "/latest/$1"; }
MAC=$(g meta-data/mac)
echo "HOSTD-MD: local-ipv4=$(g meta-data/local-ipv4)"
echo "HOSTD-MD: mac=$MAC"
echo "HOSTD-MD: subnet-id=$(g meta-data/network/interfaces/macs/$MAC/subnet-id)"
echo "HOSTD-MD: security-groups=$(g meta-data/security-groups | tr '\n' ,)"
echo "HOSTD-MD: hostname=$(g meta-data/hostname)"
echo "HOSTD-MD: tag-Role=$(g meta-data/tags/instance/Role)"
echo "HOSTD-MD: document=$(g dynamic/instance-identity/document | tr -d '\n ')"
echo "HOSTD-MD: done"
(while true; do
  imds -t 3 $A /latest/meta-data/instance-id >/dev/null 2>/tmp/e
  echo "HOSTD-MD: v1 rc=$? $(cat /tmp/e)"
  sleep 2
done) &
"""


def md_env(d):
    """make_env, with libvirt's known hot-plug leak suppressed (the test
    attaches a volume to a running guest; see lsan-libvirt.supp)."""
    env = dict(os.environ)
    env["LSAN_OPTIONS"] = "suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                         "lsan-libvirt.supp")
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "detect_leaks=1") + ":fast_unwind_on_malloc=0"
    cfg = config_text().replace("[host]\nregion = us-east-1\n", "[host]\nregion = us-east-1\nstop_timeout_s = 20\n")
    return Env(Hostd(os.path.join(d, "state"), cfg, env=env))


@pytest.fixture(scope="module")
def genv():
    d = tempfile.mkdtemp(prefix="hostd-md-")
    e = md_env(d)
    e.ami = import_tiny(e.client())
    yield e
    finish(e, d)
    shutil.rmtree(d, ignore_errors=True)


def call(env, action, account=ACCOUNT_A, **params):
    """An action Debian's boto3 does not know yet (Modify/Get
    InstanceMetadataDefaults): signed by botocore, validated against and
    parsed with the newest EC2 model on the machine."""
    import botocore.parsers
    params = dict(params, Action=action, Version="2016-11-15")
    status, body = botocore_signed(env.hostd.endpoint, params, account[1], account[2])
    validate_response(action, status, body)
    op = _get_model().operation_model(action)
    parsed = botocore.parsers.create_parser("ec2").parse(
        {"body": body, "headers": {}, "status_code": status}, op.output_shape if status == 200 else None)
    if status != 200:
        return status, re.search(rb"<Code>([^<]*)</Code>", body).group(1).decode()
    return status, parsed


def md_lines(text):
    return dict(m.groups() for m in re.finditer(r"HOSTD-MD: ([\w-]+)=([^\r\n]*)", text))


def pipe_get(imds_dir, path, token=None):
    """One request through hostd-imds-pipe (the responder the VPC listener
    runs per connection), on pipes instead of a socket."""
    req = "GET %s HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n" % path
    if token:
        req += "X-aws-ec2-metadata-token: %s\r\n" % token
    p = subprocess.run([PIPE, "--dir", imds_dir], input=(req + "\r\n").encode(), capture_output=True, timeout=20)
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, body


def pipe_token(imds_dir):
    req = ("PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 300\r\n"
           "Connection: close\r\n\r\n")
    p = subprocess.run([PIPE, "--dir", imds_dir], input=req.encode(), capture_output=True, timeout=20)
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0], p.stdout
    return body.decode()


def walk(imds_dir, token, path, out):
    """cloud-init's crawl: a listing's entries ending in / are directories;
    public-keys lists 0=name, which is fetched as 0/."""
    status, body = pipe_get(imds_dir, path, token)
    assert status == 200, (path, status, body)
    for name in body.decode().split("\n"):
        assert name, (path, body)
        if "=" in name:
            name = name.split("=", 1)[0] + "/"
        if name.endswith("/"):
            walk(imds_dir, token, path + name, out)
        else:
            st, val = pipe_get(imds_dir, path + name, token)
            assert st == 200, (path + name, st, val)
            out[path + name] = val.decode()


def openssl(*args, data=None):
    p = subprocess.run(["openssl"] + list(args), input=data, capture_output=True)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def test_guest_metadata_identity_and_live_tokens(genv):
    g = genv.client()
    state = genv.hostd.state_dir
    key = g.create_key_pair(KeyName="md-key")
    r = g.run_instances(ImageId=genv.ami, MinCount=1, MaxCount=1, InstanceType="t3.nano", KeyName="md-key",
                        UserData=USER_DATA, MetadataOptions={"InstanceMetadataTags": "enabled"},
                        TagSpecifications=[{"ResourceType": "instance",
                                            "Tags": [{"Key": "Role", "Value": "md-test"},
                                                     {"Key": "bad key", "Value": "x"}]}])
    iid = r["Instances"][0]["InstanceId"]
    try:
        inst = wait_state(g, [iid], "running", timeout=120)[iid]
        text = wait_marker(g, iid, "HOSTD-MD: done", timeout=240)
        got = md_lines(text)
        eni = inst["NetworkInterfaces"][0]
        assert got["local-ipv4"] == inst["PrivateIpAddress"]
        assert got["mac"] == eni["MacAddress"]
        assert got["subnet-id"] == inst["SubnetId"]
        assert got["security-groups"].rstrip(",") == ",".join(x["GroupName"] for x in inst["SecurityGroups"])
        assert got["hostname"] == inst["PrivateDnsName"]
        assert got["tag-Role"] == "md-test"
        doc = json.loads(got["document"])
        assert doc["instanceId"] == iid and doc["imageId"] == genv.ami
        assert doc["privateIp"] == inst["PrivateIpAddress"] and doc["accountId"] == "111111111111"
        assert doc["availabilityZone"] == inst["Placement"]["AvailabilityZone"]
        assert doc["region"] == "us-east-1" and doc["version"] == "2017-09-30"
        assert doc["instanceType"] == "t3.nano" and doc["architecture"] == "x86_64"
        for k in ("billingProducts", "devpayProductCodes", "marketplaceProductCodes", "kernelId", "ramdiskId"):
            assert k in doc and doc[k] is None

        # The whole tree, crawled through the responder as cloud-init does.
        imds_dir = os.path.join(state, "instances", iid, "imds")
        tok = pipe_token(imds_dir)
        tree = {}
        walk(imds_dir, tok, "/latest/meta-data/", tree)
        mac = eni["MacAddress"]
        m = "/latest/meta-data/"
        n = m + "network/interfaces/macs/%s/" % mac
        assert tree[m + "instance-id"] == iid and tree[m + "ami-id"] == genv.ami
        assert tree[m + "reservation-id"] == r["ReservationId"]
        assert tree[m + "public-keys/0/openssh-key"].strip() == \
            g.describe_key_pairs(KeyNames=["md-key"], IncludePublicKey=True)["KeyPairs"][0]["PublicKey"].strip()
        assert tree[m + "placement/availability-zone"] == inst["Placement"]["AvailabilityZone"]
        assert tree[m + "placement/region"] == "us-east-1"
        assert tree[m + "placement/availability-zone-id"].startswith("use1-az")
        assert tree[m + "local-hostname"] == inst["PrivateDnsName"]
        assert tree[m + "events/maintenance/scheduled"] == "[]"
        assert tree[m + "services/domain"] == "amazonaws.com" and tree[m + "services/partition"] == "aws"
        assert tree[m + "block-device-mapping/root"] == inst["RootDeviceName"]
        assert tree[n + "interface-id"] == eni["NetworkInterfaceId"]
        assert tree[n + "device-number"] == "0"
        assert tree[n + "vpc-id"] == inst["VpcId"] and tree[n + "owner-id"] == "111111111111"
        assert tree[n + "security-group-ids"].split("\n") == [x["GroupId"] for x in inst["SecurityGroups"]]
        sn = g.describe_subnets(SubnetIds=[inst["SubnetId"]])["Subnets"][0]
        vpc = g.describe_vpcs(VpcIds=[inst["VpcId"]])["Vpcs"][0]
        assert tree[n + "subnet-ipv4-cidr-block"] == sn["CidrBlock"]
        assert tree[n + "vpc-ipv4-cidr-block"] == vpc["CidrBlock"]
        assert tree[m + "tags/instance/Role"] == "md-test"
        assert not any("bad" in k for k in tree)
        if inst.get("PublicIpAddress"):
            assert tree[m + "public-ipv4"] == inst["PublicIpAddress"]
            assert tree[m + "public-hostname"] == inst["PublicDnsName"]
        # versions: cloud-init's and botocore's
        st, body = pipe_get(imds_dir, "/", tok)
        versions = body.decode().split("\n")
        for v in ("latest", "2009-04-04", "2016-09-02", "2018-09-24", "2021-03-23"):
            assert v in versions
        st, body = pipe_get(imds_dir, "/latest/dynamic/", tok)
        assert st == 200 and "instance-identity/" in body.decode().split("\n")
        st, body = pipe_get(imds_dir, "/latest/dynamic/instance-identity/", tok)
        assert sorted(body.decode().split("\n")) == ["document", "pkcs7", "rsa2048", "signature"]

        # Identity document: the three forms, verified by openssl against
        # the published CA only.
        work = tempfile.mkdtemp(prefix="md-ossl-")
        try:
            ca = os.path.join(state, "ca", "ca.pem")
            assert os.stat(os.path.join(state, "ca", "ca.key")).st_mode & 0o777 == 0o600
            parts = {}
            for name in ("document", "signature", "pkcs7", "rsa2048"):
                st, body = pipe_get(imds_dir, "/latest/dynamic/instance-identity/" + name, tok)
                assert st == 200
                parts[name] = body
                with open(os.path.join(work, name), "wb") as f:
                    f.write(body)
            assert json.loads(parts["document"]) == doc
            for name in ("pkcs7", "rsa2048"):
                with open(os.path.join(work, name + ".pem"), "wb") as f:
                    f.write(b"-----BEGIN PKCS7-----\n" + parts[name] + b"\n-----END PKCS7-----\n")
            docf = os.path.join(work, "document")
            rc, out = openssl("smime", "-verify", "-in", os.path.join(work, "pkcs7.pem"), "-inform", "PEM",
                              "-content", docf, "-certfile", ca, "-noverify")
            assert rc == 0 and "Verification successful" in out, out
            rc, out = openssl("smime", "-verify", "-in", os.path.join(work, "rsa2048.pem"), "-inform", "PEM",
                              "-CAfile", ca)
            assert rc == 0 and "Verification successful" in out, out
            assert json.loads(out[:out.rindex("}") + 1]) == doc
            # the plain signature: RSA-SHA256 over the document's bytes
            with open(os.path.join(work, "sig.bin"), "wb") as f:
                f.write(base64.b64decode(parts["signature"]))
            rc, out = openssl("x509", "-in", ca, "-pubkey", "-noout")
            with open(os.path.join(work, "pub.pem"), "w") as f:
                f.write(out)
            rc, out = openssl("dgst", "-sha256", "-verify", os.path.join(work, "pub.pem"), "-signature",
                              os.path.join(work, "sig.bin"), docf)
            assert rc == 0 and "Verified OK" in out, out
            # a changed document fails
            with open(docf, "ab") as f:
                f.write(b" ")
            rc, out = openssl("smime", "-verify", "-in", os.path.join(work, "pkcs7.pem"), "-inform", "PEM",
                              "-content", docf, "-certfile", ca, "-noverify")
            assert rc != 0, out
        finally:
            shutil.rmtree(work, ignore_errors=True)

        # IMDSv1 works now; HttpTokens=required takes effect without a reboot.
        wait_marker(g, iid, "HOSTD-MD: v1 rc=0", timeout=60)
        before = g.get_console_output(InstanceId=iid, Latest=True)["Output"].count("HTTP 401")
        assert before == 0
        out = g.modify_instance_metadata_options(InstanceId=iid, HttpTokens="required", HttpPutResponseHopLimit=3)
        assert out["InstanceId"] == iid
        mo = out["InstanceMetadataOptions"]
        assert mo["HttpTokens"] == "required" and mo["HttpPutResponseHopLimit"] == 3
        assert mo["State"] in ("pending", "applied")
        wait_marker(g, iid, "v1 rc=1 imds: GET /latest/meta-data/instance-id: HTTP 401", timeout=60)
        d = g.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        assert d["MetadataOptions"]["HttpTokens"] == "required"
        assert d["MetadataOptions"]["HttpPutResponseHopLimit"] == 3
        assert d["MetadataOptions"]["InstanceMetadataTags"] == "enabled"
        assert d["MetadataOptions"]["State"] == "applied"
        # and back
        g.modify_instance_metadata_options(InstanceId=iid, HttpTokens="optional")
        n_ok = g.get_console_output(InstanceId=iid, Latest=True)["Output"].count("v1 rc=0")
        wait_marker(g, iid, "HOSTD-MD: v1 rc=0", count=n_ok + 1, timeout=60)
        # a tag added to the running instance shows up; removed, it goes
        g.create_tags(Resources=[iid], Tags=[{"Key": "Stage", "Value": "two"}])
        assert pipe_get(imds_dir, "/latest/meta-data/tags/instance/Stage", tok) == (200, b"two")
        g.delete_tags(Resources=[iid], Tags=[{"Key": "Stage"}])
        assert pipe_get(imds_dir, "/latest/meta-data/tags/instance/Stage", tok)[0] == 404
        # the token key survives the rewrites: the old token still works
        assert pipe_get(imds_dir, "/latest/meta-data/instance-id", tok) == (200, iid.encode())
        # ENI changes reach the tree: groups, secondary addresses
        sg = g.create_security_group(GroupName="md-extra", Description="x", VpcId=inst["VpcId"])["GroupId"]
        g.modify_network_interface_attribute(NetworkInterfaceId=eni["NetworkInterfaceId"],
                                             Groups=[sg] + [x["GroupId"] for x in inst["SecurityGroups"]])
        names = pipe_get(imds_dir, "/latest/meta-data/security-groups", tok)[1].decode().split("\n")
        assert sorted(names) == sorted(["md-extra"] + [x["GroupName"] for x in inst["SecurityGroups"]])
        ids = pipe_get(imds_dir, n + "security-group-ids", tok)[1].decode()
        assert sg in ids.split("\n")
        sec = g.assign_private_ip_addresses(NetworkInterfaceId=eni["NetworkInterfaceId"],
                                            SecondaryPrivateIpAddressCount=1)["AssignedPrivateIpAddresses"]
        ips = pipe_get(imds_dir, n + "local-ipv4s", tok)[1].decode().split("\n")
        assert ips == [inst["PrivateIpAddress"], sec[0]["PrivateIpAddress"]]
        # an EBS volume attached live shows as block-device-mapping/ebs1
        vol = g.create_volume(AvailabilityZone=inst["Placement"]["AvailabilityZone"], Size=1)["VolumeId"]
        for _ in range(100):
            if g.describe_volumes(VolumeIds=[vol])["Volumes"][0]["State"] == "available":
                break
            time.sleep(0.2)
        g.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/sdf")
        bdm = m + "block-device-mapping/"
        assert pipe_get(imds_dir, bdm + "ebs1", tok) == (200, b"sdf")
        assert pipe_get(imds_dir, bdm, tok)[1] == b"ami\nebs1\nroot"
        g.detach_volume(VolumeId=vol, Force=True)
        assert pipe_get(imds_dir, bdm + "ebs1", tok)[0] == 404
        # HttpEndpoint=disabled: the service no longer answers (403), live
        g.modify_instance_metadata_options(InstanceId=iid, HttpEndpoint="disabled")
        assert pipe_get(imds_dir, "/latest/meta-data/instance-id", tok)[0] == 403
        g.modify_instance_metadata_options(InstanceId=iid, HttpEndpoint="enabled")
        assert pipe_get(imds_dir, "/latest/meta-data/instance-id", tok)[0] == 200
        # tags leave the tree when disabled
        g.modify_instance_metadata_options(InstanceId=iid, InstanceMetadataTags="disabled")
        st, _ = pipe_get(imds_dir, "/latest/meta-data/tags/instance/Role", tok)
        assert st == 404
    finally:
        g.terminate_instances(InstanceIds=[iid])
        wait_state(g, [iid], "terminated", timeout=90)
    del key


def test_metadata_options_errors(genv):
    g = genv.client()
    import botocore.exceptions

    def code(fn, **kw):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            fn(**kw)
        return e.value.response["Error"]["Code"]

    assert code(g.modify_instance_metadata_options, InstanceId="i-0123456789abcdef0",
                HttpTokens="required") == "InvalidInstanceID.NotFound"
    assert code(g.modify_instance_metadata_options, InstanceId="bogus") == "InvalidInstanceID.Malformed"
    assert code(g.modify_instance_metadata_options, InstanceId="i-0123456789abcdef0",
                HttpTokens="sometimes") == "InvalidParameterValue"
    assert call(genv, "ModifyInstanceMetadataDefaults", HttpTokens="sometimes") == (400, "InvalidParameterValue")
    assert call(genv, "ModifyInstanceMetadataDefaults", HttpPutResponseHopLimit="65")[0] == 400
    assert call(genv, "ModifyInstanceMetadataDefaults", HttpPutResponseHopLimit="0")[0] == 400


def test_account_metadata_defaults(genv):
    g = genv.client()

    def level(account=ACCOUNT_A):
        st, out = call(genv, "GetInstanceMetadataDefaults", account)
        assert st == 200, out
        return out.get("AccountLevel", {})

    assert "HttpTokens" not in level()
    st, out = call(genv, "ModifyInstanceMetadataDefaults", HttpTokens="required", HttpPutResponseHopLimit="4",
                   InstanceMetadataTags="enabled")
    assert st == 200 and out["Return"] is True
    al = level()
    assert al["HttpTokens"] == "required" and al["HttpPutResponseHopLimit"] == 4
    assert al["InstanceMetadataTags"] == "enabled" and "HttpEndpoint" not in al
    assert "HttpTokens" not in level(ACCOUNT_B)  # per account
    iid = None
    try:
        r = g.run_instances(ImageId=genv.ami, MinCount=1, MaxCount=1, InstanceType="t3.nano",
                            MetadataOptions={"HttpPutResponseHopLimit": 7})
        iid = r["Instances"][0]["InstanceId"]
        mo = r["Instances"][0]["MetadataOptions"]
        assert mo["HttpTokens"] == "required" and mo["HttpPutResponseHopLimit"] == 7
        assert mo["InstanceMetadataTags"] == "enabled" and mo["HttpEndpoint"] == "enabled"
        g.terminate_instances(InstanceIds=[iid])
    finally:
        call(genv, "ModifyInstanceMetadataDefaults", HttpTokens="no-preference", HttpPutResponseHopLimit="-1",
             InstanceMetadataTags="no-preference")
    assert not {"HttpTokens", "HttpPutResponseHopLimit", "InstanceMetadataTags"} & set(level())
    r = g.run_instances(ImageId=genv.ami, MinCount=1, MaxCount=1, InstanceType="t3.nano")
    iid2 = r["Instances"][0]["InstanceId"]
    mo = r["Instances"][0]["MetadataOptions"]
    assert mo["HttpTokens"] == "optional" and mo["HttpPutResponseHopLimit"] == 1
    g.terminate_instances(InstanceIds=[iid2])
    wait_state(g, [iid, iid2], "terminated", timeout=90)


def test_tree_rewritten_at_hostd_start():
    """A tree left by an older hostd (here: one with a file missing) is
    rewritten when hostd starts, with the same token key and CA."""
    d = tempfile.mkdtemp(prefix="hostd-mdrs-")
    e = make_env(d)
    state = e.hostd.state_dir
    try:
        g = e.client()
        ami = import_tiny(g)
        iid = g.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1)["Instances"][0][
            "InstanceId"]
        wait_state(g, [iid], "running")
        imds_dir = os.path.join(state, "instances", iid, "imds")
        tok = pipe_token(imds_dir)
        ca = open(os.path.join(state, "ca", "ca.pem")).read()
        os.unlink(os.path.join(imds_dir, "meta-data", "instance-type"))
        assert pipe_get(imds_dir, "/latest/meta-data/instance-type", tok)[0] == 404
        assert e.hostd.stop() == 0
        e = Env(Hostd(state, open(state + ".conf").read()))
        g = e.client()
        assert pipe_get(imds_dir, "/latest/meta-data/instance-type", tok) == (200, b"t3.nano")
        assert open(os.path.join(state, "ca", "ca.pem")).read() == ca
        g.terminate_instances(InstanceIds=[iid])
        wait_state(g, [iid], "terminated", timeout=90)
    finally:
        finish(e, d)
        shutil.rmtree(d, ignore_errors=True)
