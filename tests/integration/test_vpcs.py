"""VPCs, subnets and network interfaces: the API (validated against the EC2
model), bad input, the default VPC, and the host side: a VPC is a network
namespace, a subnet a bridge in it with its own dnsmasq (DHCP), DNS at the
VPC's base+2. Real-guest tests boot the tiny AMI on a subnet and check that
DHCP gave it its ENI's address and that DNS resolves its name."""
import os
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from guests import TINY_AMI, import_tiny, kill_guests, wait_marker, wait_state


def err_code(exc):
    return exc.value.response["Error"]["Code"]


def ns_of(vpc_id):
    return "hostd-" + vpc_id


def ns_exists(ns):
    return ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()


def links(ns):
    out = subprocess.run(["ip", "-n", ns, "-o", "addr"], capture_output=True, text=True).stdout
    return out


def dnsmasq_cmdlines(state_dir):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                c = f.read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if c.startswith("dnsmasq ") and state_dir in c:
            out.append(c)
    return out


DNS_CLIENT = r"""
import socket, struct, sys
name, server = sys.argv[1], sys.argv[2]
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, (server, 53))
r = s.recv(1500)
rcode, ancount = r[3] & 15, struct.unpack(">H", r[6:8])[0]
print(rcode, socket.inet_ntoa(r[-4:]) if ancount else "-")
"""


def dns_query(ns, server, name):
    """An A query sent from inside the VPC namespace: (rcode, address)."""
    p = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", DNS_CLIENT, name, server],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    rcode, addr = p.stdout.split()
    return int(rcode), addr


# --- the API ----------------------------------------------------------------

def test_default_vpc_subnet_group_and_acl(env, ec2):
    vpcs = ec2.describe_vpcs()["Vpcs"]
    assert len(vpcs) == 1
    v = vpcs[0]
    assert v["IsDefault"] is True and v["CidrBlock"] == "172.31.0.0/16" and v["State"] == "available"
    assert v["VpcId"].startswith("vpc-") and v["OwnerId"] == "111111111111"
    assert v["CidrBlockAssociationSet"][0]["CidrBlockState"]["State"] == "associated"
    subs = ec2.describe_subnets()["Subnets"]
    assert len(subs) == 1
    s = subs[0]
    assert s["VpcId"] == v["VpcId"] and s["CidrBlock"] == "172.31.0.0/20" and s["DefaultForAz"] is True
    assert s["AvailabilityZone"] == "us-east-1a" and s["AvailableIpAddressCount"] == 4096 - 5
    assert s["SubnetArn"] == "arn:aws:ec2:us-east-1:111111111111:subnet/" + s["SubnetId"]
    # the same default VPC on the next call, and another one for account B
    assert ec2.describe_vpcs()["Vpcs"][0]["VpcId"] == v["VpcId"]
    vb = env.client(account=("222222222222", "AKIABBBBBBBBBBBBBBBB", "secretB" + "b" * 33)).describe_vpcs()
    assert vb["Vpcs"][0]["VpcId"] != v["VpcId"] and vb["Vpcs"][0]["CidrBlock"] == "172.31.0.0/16"
    # rows for the integrator's security group and network ACL actions
    db = env.hostd.db()
    g = db.execute("SELECT id, name FROM security_groups WHERE vpc_id = ?", (v["VpcId"],)).fetchall()
    assert len(g) == 1 and g[0][1] == "default" and g[0][0].startswith("sg-")
    rules = db.execute("SELECT id, egress, protocol, cidr, ref_group_id FROM sg_rules WHERE group_id = ?",
                       (g[0][0],)).fetchall()
    assert sorted((r[1], r[2], r[3], r[4]) for r in rules) == [(0, "-1", None, g[0][0]), (1, "-1", "0.0.0.0/0", None)]
    assert all(r[0].startswith("sgr-") for r in rules)
    acl = db.execute("SELECT id FROM network_acls WHERE vpc_id = ? AND is_default = 1", (v["VpcId"],)).fetchall()
    assert len(acl) == 1
    ent = db.execute("SELECT egress, rule_number, rule_action, cidr FROM nacl_entries WHERE nacl_id = ? "
                     "ORDER BY egress, rule_number", (acl[0][0],)).fetchall()
    assert ent == [(0, 100, "allow", "0.0.0.0/0"), (0, 32767, "deny", "0.0.0.0/0"),
                   (1, 100, "allow", "0.0.0.0/0"), (1, 32767, "deny", "0.0.0.0/0")]
    assert db.execute("SELECT nacl_id FROM nacl_assocs WHERE subnet_id = ?", (s["SubnetId"],)).fetchone()[0] == acl[0][0]
    db.close()


def test_vpc_subnet_lifecycle_filters_tags(env, ec2):
    v = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "lab"}]}])["Vpc"]
    vid = v["VpcId"]
    assert v["CidrBlock"] == "10.20.0.0/16" and v["IsDefault"] is False
    assert {"Key": "Name", "Value": "lab"} in v["Tags"]
    # CreateVpc also made the VPC's default group
    db = env.hostd.db()
    assert db.execute("SELECT name FROM security_groups WHERE vpc_id = ?", (vid,)).fetchall() == [("default",)]
    db.close()
    a = ec2.create_subnet(VpcId=vid, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    b = ec2.create_subnet(VpcId=vid, CidrBlock="10.20.2.0/28", TagSpecifications=[
        {"ResourceType": "subnet", "Tags": [{"Key": "tier", "Value": "db"}]}])["Subnet"]
    assert a["AvailableIpAddressCount"] == 251 and b["AvailableIpAddressCount"] == 11
    assert a["DefaultForAz"] is False and a["MapPublicIpOnLaunch"] is False and a["State"] == "available"
    f = lambda **kw: sorted(s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": k.replace("_", "-"), "Values": v} for k, v in kw.items()])["Subnets"])
    assert f(vpc_id=[vid]) == sorted([a["SubnetId"], b["SubnetId"]])
    assert f(cidr_block=["10.20.2.0/28"]) == [b["SubnetId"]]
    assert f(subnet_id=[a["SubnetId"]]) == [a["SubnetId"]]
    assert f(availability_zone=["us-east-1a"], vpc_id=[vid]) == sorted([a["SubnetId"], b["SubnetId"]])
    assert f(availability_zone=["us-east-1b"]) == []
    assert len(f(default_for_az=["true"])) == 1 and vid not in str(f(default_for_az=["true"]))
    assert ec2.describe_subnets(Filters=[{"Name": "tag:tier", "Values": ["d*"]}])["Subnets"][0]["SubnetId"] == b["SubnetId"]
    assert [x["VpcId"] for x in ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["lab"]}])["Vpcs"]] == [vid]
    assert [x["VpcId"] for x in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["false"]}])["Vpcs"]] == [vid]
    assert ec2.describe_vpcs(VpcIds=[vid])["Vpcs"][0]["CidrBlock"] == "10.20.0.0/16"
    # CreateTags knows the new kinds
    ec2.create_tags(Resources=[vid, a["SubnetId"]], Tags=[{"Key": "k", "Value": "v"}])
    types = {t["ResourceId"]: t["ResourceType"] for t in ec2.describe_tags(Filters=[{"Name": "key", "Values": ["k"]}])["Tags"]}
    assert types == {vid: "vpc", a["SubnetId"]: "subnet"}
    # pagination
    p1 = ec2.describe_subnets(MaxResults=5)
    assert len(p1["Subnets"]) <= 5
    # MapPublicIpOnLaunch
    ec2.modify_subnet_attribute(SubnetId=a["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    assert ec2.describe_subnets(SubnetIds=[a["SubnetId"]])["Subnets"][0]["MapPublicIpOnLaunch"] is True
    assert f(map_public_ip_on_launch=["true"], vpc_id=[vid]) == [a["SubnetId"]]
    # the VPC has dependencies until its subnets are gone
    with pytest.raises(ClientError) as ei:
        ec2.delete_vpc(VpcId=vid)
    assert err_code(ei) == "DependencyViolation"
    ec2.delete_subnet(SubnetId=a["SubnetId"])
    ec2.delete_subnet(SubnetId=b["SubnetId"])
    with pytest.raises(ClientError) as ei:
        ec2.describe_subnets(SubnetIds=[a["SubnetId"]])
    assert err_code(ei) == "InvalidSubnetID.NotFound"
    ec2.delete_vpc(VpcId=vid)
    with pytest.raises(ClientError) as ei:
        ec2.describe_vpcs(VpcIds=[vid])
    assert err_code(ei) == "InvalidVpcID.NotFound"
    db = env.hostd.db()
    assert db.execute("SELECT COUNT(*) FROM security_groups WHERE vpc_id = ?", (vid,)).fetchone()[0] == 0
    db.close()


@pytest.mark.parametrize("cidr,code", [
    ("10.0.0.0/8", "InvalidVpc.Range"), ("10.0.0.0/29", "InvalidVpc.Range"), ("10.0.0.1/16", "InvalidParameterValue"),
    ("10.0.0.0", "InvalidParameterValue"), ("300.0.0.0/16", "InvalidParameterValue"), ("banana", "InvalidParameterValue"),
])
def test_create_vpc_bad_cidr(ec2, cidr, code):
    with pytest.raises(ClientError) as ei:
        ec2.create_vpc(CidrBlock=cidr)
    assert err_code(ei) == code


def test_subnet_bad_input(ec2, ec2b):
    vid = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.30.0.0/24")["Subnet"]["SubnetId"]
    cases = [
        (dict(VpcId=vid, CidrBlock="10.31.0.0/24"), "InvalidSubnet.Range"),        # outside the VPC
        (dict(VpcId=vid, CidrBlock="10.30.0.0/29"), "InvalidSubnet.Range"),        # too small
        (dict(VpcId=vid, CidrBlock="10.30.0.128/25"), "InvalidSubnet.Conflict"),   # inside the existing one
        (dict(VpcId=vid, CidrBlock="10.30.0.0/23"), "InvalidSubnet.Conflict"),     # around it
        (dict(VpcId=vid, CidrBlock="10.30.9.1/24"), "InvalidParameterValue"),
        (dict(VpcId=vid, CidrBlock="10.30.9.0/24", AvailabilityZone="us-east-1z"), "InvalidParameterValue"),
        (dict(VpcId="vpc-0123456789abcdef0", CidrBlock="10.30.9.0/24"), "InvalidVpcID.NotFound"),
        (dict(VpcId="vpc-nope", CidrBlock="10.30.9.0/24"), "InvalidVpcID.Malformed"),
    ]
    for kw, code in cases:
        with pytest.raises(ClientError) as ei:
            ec2.create_subnet(**kw)
        assert err_code(ei) == code, kw
    # another account sees neither
    with pytest.raises(ClientError) as ei:
        ec2b.create_subnet(VpcId=vid, CidrBlock="10.30.9.0/24")
    assert err_code(ei) == "InvalidVpcID.NotFound"
    with pytest.raises(ClientError) as ei:
        ec2b.delete_subnet(SubnetId=sid)
    assert err_code(ei) == "InvalidSubnetID.NotFound"
    with pytest.raises(ClientError) as ei:
        ec2.delete_subnet(SubnetId="subnet-zz")
    assert err_code(ei) == "InvalidSubnetID.Malformed"
    with pytest.raises(ClientError) as ei:
        ec2.describe_network_interfaces(NetworkInterfaceIds=["eni-0123456789abcdef0"])
    assert err_code(ei) == "InvalidNetworkInterfaceID.NotFound"
    # two VPCs may use the same CIDR
    v2 = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    s2 = ec2.create_subnet(VpcId=v2, CidrBlock="10.30.0.0/24")["Subnet"]["SubnetId"]
    ec2.delete_subnet(SubnetId=s2)
    ec2.delete_vpc(VpcId=v2)


def test_create_delete_network_interface(env, ec2):
    vid = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.80.1.0/28")["Subnet"]["SubnetId"]
    n = ec2.create_network_interface(SubnetId=sid, Description="spare", TagSpecifications=[
        {"ResourceType": "network-interface", "Tags": [{"Key": "role", "Value": "spare"}]}])["NetworkInterface"]
    assert n["PrivateIpAddress"] == "10.80.1.4" and n["Status"] == "available" and n["Description"] == "spare"
    assert [g["GroupName"] for g in n["Groups"]] == ["default"] and "Attachment" not in n
    assert n["PrivateDnsName"] == "ip-10-80-1-4.ec2.internal"
    m = ec2.create_network_interface(SubnetId=sid, PrivateIpAddress="10.80.1.14")["NetworkInterface"]
    assert m["PrivateIpAddress"] == "10.80.1.14"
    for ip, code in (("10.80.1.14", "InvalidIPAddress.InUse"), ("10.80.1.15", "InvalidParameterValue"),
                     ("10.80.1.2", "InvalidParameterValue"), ("10.80.2.5", "InvalidParameterValue")):
        with pytest.raises(ClientError) as ei:
            ec2.create_network_interface(SubnetId=sid, PrivateIpAddress=ip)
        assert err_code(ei) == code, ip
    with pytest.raises(ClientError) as ei:
        ec2.create_network_interface(SubnetId=sid, Groups=["sg-0123456789abcdef0"])
    assert err_code(ei) == "InvalidGroup.NotFound"
    assert ec2.describe_subnets(SubnetIds=[sid])["Subnets"][0]["AvailableIpAddressCount"] == 9
    got = ec2.describe_network_interfaces(Filters=[{"Name": "tag:role", "Values": ["spare"]}])["NetworkInterfaces"]
    assert [x["NetworkInterfaceId"] for x in got] == [n["NetworkInterfaceId"]]
    # the address is in the VPC's DNS at once
    assert dns_query(ns_of(vid), "10.80.0.2", "ip-10-80-1-14.ec2.internal") == (0, "10.80.1.14")
    # secondary private addresses
    a = ec2.assign_private_ip_addresses(NetworkInterfaceId=n["NetworkInterfaceId"], SecondaryPrivateIpAddressCount=2)
    assert sorted(x["PrivateIpAddress"] for x in a["AssignedPrivateIpAddresses"]) == ["10.80.1.5", "10.80.1.6"]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=n["NetworkInterfaceId"], PrivateIpAddresses=["10.80.1.9"])
    with pytest.raises(ClientError) as ei:
        ec2.assign_private_ip_addresses(NetworkInterfaceId=m["NetworkInterfaceId"], PrivateIpAddresses=["10.80.1.9"])
    assert err_code(ei) == "InvalidParameterValue"
    ec2.assign_private_ip_addresses(NetworkInterfaceId=m["NetworkInterfaceId"], PrivateIpAddresses=["10.80.1.9"],
                                    AllowReassignment=True)
    got = {x["NetworkInterfaceId"]: x for x in ec2.describe_network_interfaces(
        NetworkInterfaceIds=[n["NetworkInterfaceId"], m["NetworkInterfaceId"]])["NetworkInterfaces"]}
    ips = lambda x: sorted((p["PrivateIpAddress"], p["Primary"]) for p in x["PrivateIpAddresses"])
    assert ips(got[n["NetworkInterfaceId"]]) == [("10.80.1.4", True), ("10.80.1.5", False), ("10.80.1.6", False)]
    assert ips(got[m["NetworkInterfaceId"]]) == [("10.80.1.14", True), ("10.80.1.9", False)]
    assert dns_query(ns_of(vid), "10.80.0.2", "ip-10-80-1-9.ec2.internal") == (0, "10.80.1.9")
    with pytest.raises(ClientError) as ei:
        ec2.unassign_private_ip_addresses(NetworkInterfaceId=n["NetworkInterfaceId"], PrivateIpAddresses=["10.80.1.4"])
    assert err_code(ei) == "InvalidParameterValue"                   # the primary
    ec2.unassign_private_ip_addresses(NetworkInterfaceId=n["NetworkInterfaceId"],
                                      PrivateIpAddresses=["10.80.1.5", "10.80.1.6"])
    got = ec2.describe_network_interfaces(NetworkInterfaceIds=[n["NetworkInterfaceId"]])["NetworkInterfaces"][0]
    assert ips(got) == [("10.80.1.4", True)]
    f = ec2.describe_network_interfaces(Filters=[{"Name": "addresses.private-ip-address", "Values": ["10.80.1.9"]}])
    assert [x["NetworkInterfaceId"] for x in f["NetworkInterfaces"]] == [m["NetworkInterfaceId"]]
    # ModifyNetworkInterfaceAttribute, one attribute at a time
    nid = n["NetworkInterfaceId"]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=nid, Description={"Value": "renamed"})
    ec2.modify_network_interface_attribute(NetworkInterfaceId=nid, SourceDestCheck={"Value": False})
    db = env.hostd.db()
    db.execute("INSERT INTO security_groups(id, account_id, vpc_id, name, description, created_ms) "
               "VALUES ('sg-0000000000000abcd', '111111111111', ?, 'web', 'web', 0)", (vid,))
    db.commit()
    db.close()
    default_sg = n["Groups"][0]["GroupId"]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=nid, Groups=["sg-0000000000000abcd", default_sg])
    got = ec2.describe_network_interfaces(NetworkInterfaceIds=[nid])["NetworkInterfaces"][0]
    assert got["Description"] == "renamed" and got["SourceDestCheck"] is False
    assert sorted(g["GroupName"] for g in got["Groups"]) == ["default", "web"]
    assert [x["NetworkInterfaceId"] for x in ec2.describe_network_interfaces(
        Filters=[{"Name": "group-name", "Values": ["web"]}])["NetworkInterfaces"]] == [nid]
    with pytest.raises(ClientError) as ei:
        ec2.modify_network_interface_attribute(NetworkInterfaceId=nid, Groups=["sg-0123456789abcdef0"])
    assert err_code(ei) == "InvalidGroup.NotFound"
    with pytest.raises(ClientError) as ei:
        ec2.modify_network_interface_attribute(NetworkInterfaceId=nid, Description={"Value": "x"},
                                               SourceDestCheck={"Value": True})
    assert err_code(ei) == "InvalidParameterCombination"
    ec2.modify_network_interface_attribute(NetworkInterfaceId=nid, Groups=[default_sg])
    with pytest.raises(ClientError) as ei:
        ec2.delete_subnet(SubnetId=sid)
    assert err_code(ei) == "DependencyViolation"
    for x in (n, m):
        ec2.delete_network_interface(NetworkInterfaceId=x["NetworkInterfaceId"])
    with pytest.raises(ClientError) as ei:
        ec2.delete_network_interface(NetworkInterfaceId=n["NetworkInterfaceId"])
    assert err_code(ei) == "InvalidNetworkInterfaceID.NotFound"
    ec2.delete_subnet(SubnetId=sid)
    with pytest.raises(ClientError) as ei:
        ec2.delete_vpc(VpcId=vid)                                 # the extra group is a dependency
    assert err_code(ei) == "DependencyViolation"
    db = env.hostd.db()
    db.execute("DELETE FROM security_groups WHERE id = 'sg-0000000000000abcd'")   # as DeleteSecurityGroup would
    db.commit()
    db.close()
    ec2.delete_vpc(VpcId=vid)


def test_aws_cli_vpcs(env):
    v = env.aws("create-vpc", "--cidr-block", "10.40.0.0/16")["Vpc"]
    s = env.aws("create-subnet", "--vpc-id", v["VpcId"], "--cidr-block", "10.40.0.0/20")["Subnet"]
    assert s["AvailableIpAddressCount"] == 4091
    out = env.aws("describe-subnets", "--filters", "Name=vpc-id,Values=" + v["VpcId"])
    assert [x["SubnetId"] for x in out["Subnets"]] == [s["SubnetId"]]
    env.aws("delete-subnet", "--subnet-id", s["SubnetId"])
    env.aws("delete-vpc", "--vpc-id", v["VpcId"])


# --- the host side ------------------------------------------------------------

def test_namespace_bridge_dnsmasq_follow_the_api(env, ec2):
    sd = env.hostd.state_dir
    vid = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    ns = ns_of(vid)
    assert ns_exists(ns)
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.50.3.0/24")["Subnet"]["SubnetId"]
    addrs = links(ns)
    bridge = "br-" + sid[-12:]
    assert "10.50.3.1/24" in addrs and bridge in addrs       # router on the bridge
    assert "10.50.0.2/32" in addrs and "169.254.169.254/32" in addrs
    procs = dnsmasq_cmdlines(sd)
    dhcp = [c for c in procs if "--interface=" + bridge in c]
    dns = [c for c in procs if "--listen-address=10.50.0.2" in c]
    assert len(dhcp) == 1 and len(dns) == 1, procs
    assert "--conf-file=/dev/null" in dhcp[0] and "static" in dhcp[0]
    # DNS answers for the VPC's domain only from its own table: nothing yet
    assert dns_query(ns, "10.50.0.2", "ip-10-50-3-9.ec2.internal")[0] == 3   # NXDOMAIN
    # forwarding on (the namespace is the VPC's router)
    p = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ip_forward"], capture_output=True, text=True)
    assert p.stdout.strip() == "1"
    ec2.delete_subnet(SubnetId=sid)
    assert bridge not in links(ns)
    assert [c for c in dnsmasq_cmdlines(sd) if bridge in c] == []
    ec2.delete_vpc(VpcId=vid)
    assert not ns_exists(ns)
    assert [c for c in dnsmasq_cmdlines(sd) if "10.50.0.2" in c] == []


def test_reconcile_restarts_dnsmasq_and_namespace(env, ec2):
    vid = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.60.0.0/24")["Subnet"]["SubnetId"]
    pidfile = os.path.join(env.hostd.state_dir, "net", vid, sid + ".pid")
    old = int(open(pidfile).read())
    os.kill(old, 9)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            new = int(open(pidfile).read())
            if new != old and os.path.exists("/proc/%d" % new):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    else:
        raise AssertionError("dnsmasq was not restarted")
    # and a namespace deleted behind hostd's back comes back with its bridge
    subprocess.run(["ip", "netns", "del", ns_of(vid)], check=True)
    deadline = time.time() + 15
    while time.time() < deadline and "br-" + sid[-12:] not in links(ns_of(vid)):
        time.sleep(0.2)
    assert "10.60.0.1/24" in links(ns_of(vid))
    ec2.delete_subnet(SubnetId=sid)
    ec2.delete_vpc(VpcId=vid)


# --- real guests --------------------------------------------------------------

needs_ami = pytest.mark.skipif(not os.path.exists(TINY_AMI), reason="make tiny-ami first")


@needs_ami
def test_run_instances_network_bad_input(env, ec2, ec2b):
    """Refused before anything boots."""
    ami = import_tiny(ec2)
    vid = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.90.0.0/24")["Subnet"]["SubnetId"]
    cases = [
        (dict(SubnetId="subnet-0123456789abcdef0"), "InvalidSubnetID.NotFound"),
        (dict(SubnetId="subnet-x"), "InvalidSubnetID.Malformed"),
        (dict(SubnetId=sid, SecurityGroupIds=["sg-0123456789abcdef0"]), "InvalidGroup.NotFound"),
        (dict(SubnetId=sid, SecurityGroupIds=["sg-x"]), "InvalidGroupId.Malformed"),
        (dict(SubnetId=sid, SecurityGroups=["nope"]), "InvalidGroup.NotFound"),
        (dict(SubnetId=sid, PrivateIpAddress="10.90.0.9", MaxCount=2), "InvalidParameterCombination"),
        (dict(SubnetId=sid, PrivateIpAddress="10.90.0.255"), "InvalidParameterValue"),
        (dict(SubnetId=sid, PrivateIpAddress="banana"), "InvalidParameterValue"),
    ]
    for kw, code in cases:
        kw.setdefault("MaxCount", 1)
        with pytest.raises(ClientError) as ei:
            ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, **kw)
        assert err_code(ei) == code, kw
    # a group of the default VPC cannot go on an ENI in another VPC
    dvpc = [v for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"]][0]["VpcId"]
    db = env.hostd.db()
    dsg = db.execute("SELECT id FROM security_groups WHERE vpc_id = ?", (dvpc,)).fetchone()[0]
    db.close()
    with pytest.raises(ClientError) as ei:
        ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1, SubnetId=sid,
                          SecurityGroupIds=[dsg])
    assert err_code(ei) == "InvalidParameter"
    # another account's subnet does not exist for B
    with pytest.raises(ClientError) as ei:
        ec2b.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1, SubnetId=sid)
    assert err_code(ei) in ("InvalidSubnetID.NotFound", "InvalidAMIID.NotFound")
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []
    ec2.delete_subnet(SubnetId=sid)
    ec2.delete_vpc(VpcId=vid)


@needs_ami
def test_guest_gets_eni_address_by_dhcp_and_dns_name(env, ec2):
    """One tiny-AMI guest on a new subnet with a chosen address: DHCP gives it
    that address (console marker), DNS at base+2 resolves its name, the API
    shows the ENI everywhere, and the subnet/VPC can go once it is
    terminated."""
    try:
        ami = import_tiny(ec2)
        vid = ec2.create_vpc(CidrBlock="10.70.0.0/16")["Vpc"]["VpcId"]
        sid = ec2.create_subnet(VpcId=vid, CidrBlock="10.70.5.0/24")["Subnet"]["SubnetId"]
        ns = ns_of(vid)
        with pytest.raises(ClientError) as ei:
            ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1, SubnetId=sid,
                              PrivateIpAddress="10.70.5.1")
        assert err_code(ei) == "InvalidParameterValue"               # the router's
        with pytest.raises(ClientError) as ei:
            ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1, SubnetId=sid,
                              PrivateIpAddress="10.70.6.9")
        assert err_code(ei) == "InvalidParameterValue"               # not in the subnet
        r = ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1, SubnetId=sid,
                              PrivateIpAddress="10.70.5.77")
        inst = r["Instances"][0]
        iid = inst["InstanceId"]
        with pytest.raises(ClientError) as ei:
            ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1, SubnetId=sid,
                              PrivateIpAddress="10.70.5.77")
        assert err_code(ei) == "InvalidIPAddress.InUse"
        assert inst["PrivateIpAddress"] == "10.70.5.77" and inst["SubnetId"] == sid and inst["VpcId"] == vid
        assert inst["PrivateDnsName"] == "ip-10-70-5-77.ec2.internal"
        assert [g["GroupName"] for g in inst["SecurityGroups"]] == ["default"]
        eni = inst["NetworkInterfaces"][0]
        assert eni["NetworkInterfaceId"].startswith("eni-") and eni["MacAddress"].startswith("02:")
        assert eni["Attachment"]["DeviceIndex"] == 0 and eni["Attachment"]["DeleteOnTermination"] is True
        d = ec2.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])
        assert [x["PrivateIpAddress"] for x in d["NetworkInterfaces"]] == ["10.70.5.77"]
        assert d["NetworkInterfaces"][0]["Status"] == "in-use"
        assert ec2.describe_subnets(SubnetIds=[sid])["Subnets"][0]["AvailableIpAddressCount"] == 250
        wait_state(ec2, [iid], "running")
        text = wait_marker(ec2, iid, "HOSTD-TINY: ready", timeout=180)
        assert "HOSTD-TINY: net up 10.70.5.77" in text, text
        assert "HOSTD-TINY: instance-id " + iid in text, text          # metadata through the VPC router
        # served by an unprivileged responder: the tree is its group's only
        st = os.stat(os.path.join(env.hostd.state_dir, "instances", iid, "imds"))
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, 64911, 0o750)
        assert dns_query(ns, "10.70.0.2", "ip-10-70-5-77.ec2.internal") == (0, "10.70.5.77")
        assert dns_query(ns, "10.70.0.2", "ip-10-70-5-77.us-east-1.compute.internal") == (0, "10.70.5.77")
        # the tap is on the subnet's bridge inside the namespace
        tap = "tap-" + eni["NetworkInterfaceId"][-11:]
        assert "master br-" + sid[-12:] in subprocess.run(["ip", "-n", ns, "link", "show", tap],
                                                           capture_output=True, text=True).stdout
        # hot-plug a second ENI: QEMU opens its tap (carrier up) on the bridge
        n2 = ec2.create_network_interface(SubnetId=sid)["NetworkInterface"]["NetworkInterfaceId"]
        with pytest.raises(ClientError) as ei:
            ec2.attach_network_interface(NetworkInterfaceId=n2, InstanceId=iid, DeviceIndex=0)
        assert err_code(ei) == "InvalidParameterValue"
        att = ec2.attach_network_interface(NetworkInterfaceId=n2, InstanceId=iid, DeviceIndex=1)["AttachmentId"]
        tap2 = "tap-" + n2[-11:]
        line = subprocess.run(["ip", "-n", ns, "link", "show", tap2], capture_output=True, text=True).stdout
        assert "master br-" + sid[-12:] in line and "LOWER_UP" in line, line
        nis = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["NetworkInterfaces"]
        assert sorted(x["Attachment"]["DeviceIndex"] for x in nis) == [0, 1]
        with pytest.raises(ClientError) as ei:
            ec2.detach_network_interface(AttachmentId=eni["Attachment"]["AttachmentId"])
        assert err_code(ei) == "OperationNotPermitted"
        ec2.detach_network_interface(AttachmentId=att)
        assert ec2.describe_network_interfaces(NetworkInterfaceIds=[n2])["NetworkInterfaces"][0]["Status"] == "available"
        assert subprocess.run(["ip", "-n", ns, "link", "show", tap2], capture_output=True).returncode != 0
        ec2.delete_network_interface(NetworkInterfaceId=n2)
        with pytest.raises(ClientError) as ei:
            ec2.delete_subnet(SubnetId=sid)
        assert err_code(ei) == "DependencyViolation"
        ec2.terminate_instances(InstanceIds=[iid])
        wait_state(ec2, [iid], "terminated", timeout=60)
        assert ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [sid]}])["NetworkInterfaces"] == []
        assert dns_query(ns, "10.70.0.2", "ip-10-70-5-77.ec2.internal")[0] == 3
        ec2.delete_subnet(SubnetId=sid)
        ec2.delete_vpc(VpcId=vid)
        assert not ns_exists(ns)
    finally:
        kill_guests(env.hostd.state_dir)
