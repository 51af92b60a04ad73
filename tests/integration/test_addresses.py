"""Internet gateways, public and Elastic IPs: the API with its errors, and a
real guest reached on its public addresses by a client in a namespace this
test creates and plugs into hostd's public network (it plays the internet;
no traffic leaves the host)."""
import subprocess
import time

import botocore.exceptions
import pytest

from guests import import_tiny, kill_guests, wait_marker, wait_state

POOL = "198.51.100."


def code(fn, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        fn(**kw)
    return ei.value.response["Error"]["Code"]


def default_vpc(ec2):
    return ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]


def test_internet_gateways(ec2):
    vpc = default_vpc(ec2)
    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])
    assert len(igws["InternetGateways"]) == 1, "the default VPC has an internet gateway"
    dflt = igws["InternetGateways"][0]
    assert dflt["Attachments"] == [{"State": "available", "VpcId": vpc}] and dflt["OwnerId"] == "111111111111"

    g = ec2.create_internet_gateway(TagSpecifications=[
        {"ResourceType": "internet-gateway", "Tags": [{"Key": "n", "Value": "x"}]}])["InternetGateway"]
    gid = g["InternetGatewayId"]
    assert gid.startswith("igw-") and g["Attachments"] == [] and g["Tags"] == [{"Key": "n", "Value": "x"}]
    other = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    assert code(ec2.attach_internet_gateway, InternetGatewayId=gid, VpcId=vpc) == "Resource.AlreadyAssociated"
    ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=other)
    assert code(ec2.attach_internet_gateway, InternetGatewayId=gid, VpcId=other) == "Resource.AlreadyAssociated"
    assert code(ec2.delete_internet_gateway, InternetGatewayId=gid) == "DependencyViolation"
    assert code(ec2.delete_vpc, VpcId=other) == "DependencyViolation"
    got = ec2.describe_internet_gateways(InternetGatewayIds=[gid])["InternetGateways"][0]
    assert got["Attachments"][0]["VpcId"] == other
    assert code(ec2.detach_internet_gateway, InternetGatewayId=gid, VpcId=vpc) == "Gateway.NotAttached"
    ec2.detach_internet_gateway(InternetGatewayId=gid, VpcId=other)
    ec2.delete_internet_gateway(InternetGatewayId=gid)
    ec2.delete_vpc(VpcId=other)
    assert code(ec2.describe_internet_gateways, InternetGatewayIds=[gid]) == "InvalidInternetGatewayID.NotFound"
    assert code(ec2.attach_internet_gateway, InternetGatewayId="igw-0123456789abcdef0",
                VpcId=vpc) == "InvalidInternetGatewayID.NotFound"
    assert code(ec2.attach_internet_gateway, InternetGatewayId="igw-zz", VpcId=vpc) == \
        "InvalidInternetGatewayID.Malformed"


def test_elastic_ips_api(ec2, ec2b):
    a = ec2.allocate_address(Domain="vpc", TagSpecifications=[
        {"ResourceType": "elastic-ip", "Tags": [{"Key": "role", "Value": "web"}]}])
    assert a["AllocationId"].startswith("eipalloc-") and a["PublicIp"].startswith(POOL) and a["Domain"] == "vpc"
    d = ec2.describe_addresses(AllocationIds=[a["AllocationId"]])["Addresses"][0]
    assert d["PublicIp"] == a["PublicIp"] and d["Tags"] == [{"Key": "role", "Value": "web"}]
    assert "AssociationId" not in d
    assert ec2.describe_addresses(PublicIps=[a["PublicIp"]])["Addresses"][0]["AllocationId"] == a["AllocationId"]
    f = ec2.describe_addresses(Filters=[{"Name": "tag:role", "Values": ["web"]}])["Addresses"]
    assert [x["AllocationId"] for x in f] == [a["AllocationId"]]
    # a chosen address, once
    b = ec2.allocate_address(Domain="vpc", Address=POOL + "77")
    assert b["PublicIp"] == POOL + "77"
    assert code(ec2b.allocate_address, Domain="vpc", Address=POOL + "77") == "InvalidAddress.InUse"
    assert code(ec2.allocate_address, Domain="vpc", Address="203.0.113.5") == "InvalidAddress.NotFound"
    assert code(ec2.allocate_address, Domain="vpc", Address=POOL + "1") == "InvalidAddress.NotFound"
    # five per account
    more = [ec2.allocate_address(Domain="vpc")["AllocationId"] for _ in range(3)]
    assert code(ec2.allocate_address, Domain="vpc") == "AddressLimitExceeded"
    # another account sees none of them
    assert ec2b.describe_addresses()["Addresses"] == []
    assert code(ec2b.release_address, AllocationId=a["AllocationId"]) == "InvalidAllocationID.NotFound"
    assert code(ec2.describe_addresses, AllocationIds=["eipalloc-0123456789abcdef0"]) == \
        "InvalidAllocationID.NotFound"
    assert code(ec2.associate_address, AllocationId=a["AllocationId"],
                InstanceId="i-0123456789abcdef0") == "InvalidInstanceID.NotFound"
    assert code(ec2.disassociate_address, AssociationId="eipassoc-0123456789abcdef0") == \
        "InvalidAssociationID.NotFound"
    for x in [a["AllocationId"], b["AllocationId"]] + more:
        ec2.release_address(AllocationId=x)
    assert ec2.describe_addresses()["Addresses"] == []


INET_NS = "hostd-test-inet"


def inet_up():
    """A namespace playing the internet: 198.51.100.250 on a veth whose
    other end is a port of hostd's public bridge."""
    inet_down()
    for argv in (["ip", "netns", "add", INET_NS],
                 ["ip", "-n", "hostd-public", "link", "add", "inet-test", "type", "veth", "peer", "name", "eth0",
                  "netns", INET_NS],
                 ["ip", "-n", "hostd-public", "link", "set", "inet-test", "master", "br-public", "up"],
                 ["ip", "-n", INET_NS, "addr", "add", POOL + "250/24", "dev", "eth0"],
                 ["ip", "-n", INET_NS, "link", "set", "eth0", "up"],
                 ["ip", "-n", INET_NS, "link", "set", "lo", "up"]):
        subprocess.run(argv, check=True, capture_output=True)


def inet_down():
    subprocess.run(["ip", "-n", "hostd-public", "link", "del", "inet-test"], capture_output=True)
    subprocess.run(["ip", "netns", "del", INET_NS], capture_output=True)


PROBE = r"""
import socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    s.sendall(b"x\n")
    print(s.recv(100).decode().strip() or "empty")
except OSError as e:
    print("fail", e.__class__.__name__)
"""


def probe(ip, port):
    p = subprocess.run(["ip", "netns", "exec", INET_NS, "/usr/bin/python3", "-c", PROBE, ip, str(port)],
                       capture_output=True, text=True, timeout=30)
    return p.stdout.strip()


def wait_probe(ip, port, want, timeout=60):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = probe(ip, port)
        if got.startswith(want):
            return got
        time.sleep(1)
    raise AssertionError("%s:%d: wanted %r, got %r" % (ip, port, want, got))


# The listeners come back at every boot (the tiny AMI's per-boot hook), so
# the guest answers again after stop/start.
SERVER = r"""#!/bin/sh
mkdir -p /var/lib/hostd-tiny/per-boot
cat > /var/lib/hostd-tiny/per-boot/listen <<'EOF'
#!/bin/sh
for p in 8080 9090; do
  printf '#!/bin/sh\necho pong-%s\n' $p > /tmp/pong$p
  chmod +x /tmp/pong$p
  nc -ll -p $p -e /tmp/pong$p &
done
echo "HOSTD-TEST: listening"
EOF
chmod +x /var/lib/hostd-tiny/per-boot/listen
"""


def test_public_and_elastic_ip_reach_a_guest(env, ec2):
    try:
        ami = import_tiny(ec2)
        web = ec2.create_security_group(GroupName="web", Description="8080 from the internet")["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        i = ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1,
                              SecurityGroupIds=[web], UserData=SERVER)["Instances"][0]
        iid = i["InstanceId"]
        # the default subnet maps public IPs
        pub = i.get("PublicIpAddress")
        assert pub and pub.startswith(POOL), i
        assert i["PublicDnsName"] == "ec2-%s.compute-1.amazonaws.com" % pub.replace(".", "-")
        assert i["NetworkInterfaces"][0]["Association"]["PublicIp"] == pub
        assert i["NetworkInterfaces"][0]["Association"]["IpOwnerId"] == "amazon"
        assert [x["InstanceId"] for r in ec2.describe_instances(
            Filters=[{"Name": "ip-address", "Values": [pub]}])["Reservations"] for x in r["Instances"]] == [iid]
        wait_state(ec2, [iid], "running")
        wait_marker(ec2, iid, "HOSTD-TEST: listening", timeout=240)
        inet_up()
        # the group admits 8080 from anywhere, not 9090
        assert wait_probe(pub, 8080, "pong-8080") == "pong-8080"
        assert probe(pub, 9090).startswith("fail")

        # an Elastic IP replaces the automatic address
        a = ec2.allocate_address(Domain="vpc")
        assoc = ec2.associate_address(AllocationId=a["AllocationId"], InstanceId=iid)["AssociationId"]
        got = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        assert got["PublicIpAddress"] == a["PublicIp"]
        d = ec2.describe_addresses(AllocationIds=[a["AllocationId"]])["Addresses"][0]
        assert d["AssociationId"] == assoc and d["InstanceId"] == iid
        assert d["PrivateIpAddress"] == i["PrivateIpAddress"]
        assert wait_probe(a["PublicIp"], 8080, "pong-8080") == "pong-8080"
        assert probe(pub, 8080).startswith("fail"), "the automatic address is gone"
        assert code(ec2.release_address, AllocationId=a["AllocationId"]) == "InvalidIPAddress.InUse"
        assert code(ec2.detach_internet_gateway,
                    InternetGatewayId=ec2.describe_internet_gateways()["InternetGateways"][0]["InternetGatewayId"],
                    VpcId=i["VpcId"]) == "DependencyViolation"

        # the Elastic IP survives stop/start; the guest keeps answering on it
        ec2.stop_instances(InstanceIds=[iid], Force=True)
        wait_state(ec2, [iid], "stopped", timeout=60)
        got = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        assert got["PublicIpAddress"] == a["PublicIp"]
        ec2.start_instances(InstanceIds=[iid])
        wait_state(ec2, [iid], "running")
        wait_marker(ec2, iid, "HOSTD-TEST: listening", timeout=240, count=2)
        assert wait_probe(a["PublicIp"], 8080, "pong-8080") == "pong-8080"

        # without it, a new automatic address; stop loses it, start brings another
        ec2.disassociate_address(AssociationId=assoc)
        got = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        pub2 = got["PublicIpAddress"]
        assert pub2.startswith(POOL) and pub2 != a["PublicIp"]
        assert probe(a["PublicIp"], 8080).startswith("fail")
        assert wait_probe(pub2, 8080, "pong-8080") == "pong-8080"
        ec2.stop_instances(InstanceIds=[iid], Force=True)
        wait_state(ec2, [iid], "stopped", timeout=60)
        got = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        assert "PublicIpAddress" not in got
        ec2.release_address(AllocationId=a["AllocationId"])
        ec2.terminate_instances(InstanceIds=[iid])
        wait_state(ec2, [iid], "terminated", timeout=60)
    finally:
        inet_down()
        kill_guests(env.hostd.state_dir)
