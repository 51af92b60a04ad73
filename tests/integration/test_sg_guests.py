"""Security groups and network ACLs enforced on real guests.

test_groups_and_acls_between_two_guests: a server in the default subnet and
a client in a second subnet of the default VPC. The server listens on TCP
7070 (echo), 8080 and 9090; the client's user-data probes 8080, 9090 and
7070 with new connections and pings the server every second, printing one
line per round, and keeps one long 7070 connection that prints a line per
echoed tick. The test changes groups and ACLs through the API and waits for
the rounds to show it: group references, ICMP, a revoke that keeps the open
connection but refuses new ones, a NACL deny over a group allow, CIDR rules
and egress restriction.

test_vpcs_isolated_and_spoofing_dropped: two VPCs with the same CIDR, a
server at the same address in each; a client in one reaches only its own;
a guest that moves to another address or MAC reaches nothing."""
import re
import time

import pytest

from guests import import_tiny, kill_guests, wait_marker, wait_state

SERVER = r"""#!/bin/sh
for p in 8080 9090; do
  printf '#!/bin/sh\necho pong-%s-__LABEL__\n' $p > /tmp/pong$p
  chmod +x /tmp/pong$p
  nc -ll -p $p -e /tmp/pong$p &
done
nc -ll -p 7070 -e /bin/cat &
echo "HOSTD-TEST: listening"
"""

# __SERVER__ is replaced by the server's address.
CLIENT = r"""#!/bin/sh
S=__SERVER__
(
until echo x | nc -w 2 $S 7070 2>/dev/null | grep -q x; do sleep 1; done
n=0
while true; do
  n=$((n+1))
  echo "tick-$n"
  sleep 1
done | nc $S 7070 | while read l; do echo "HOSTD-TEST: long $l"; done
echo "HOSTD-TEST: long closed"
) &
(
n=0
while true; do
  n=$((n+1))
  r=""
  for p in 8080 9090; do
    if echo | nc -w 2 $S $p 2>/dev/null | grep -q pong-$p; then r="$r $p=open"; else r="$r $p=closed"; fi
  done
  if echo x | nc -w 2 $S 7070 2>/dev/null | grep -q x; then r="$r 7070=open"; else r="$r 7070=closed"; fi
  if ping -c 1 -W 2 $S >/dev/null 2>&1; then r="$r ping=ok"; else r="$r ping=fail"; fi
  echo "HOSTD-TEST: round $n$r"
  sleep 1
done
) &
"""


def console(ec2, iid):
    return ec2.get_console_output(InstanceId=iid, Latest=True).get("Output", "")


def rounds(ec2, iid):
    return [(int(n), rest.strip()) for n, rest in re.findall(r"HOSTD-TEST: round (\d+)([^\r\n]*)", console(ec2, iid))]


def ticks(ec2, iid):
    return [int(n) for n in re.findall(r"HOSTD-TEST: long tick-(\d+)", console(ec2, iid))]


def wait_round(ec2, iid, want, after=0, timeout=90):
    """Waits for two consecutive rounds numbered above `after` whose results
    include every item of want ("8080=open", ...), so a probe that began
    before the change cannot decide; returns the second's number."""
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        seen = [(n, r) for n, r in rounds(ec2, iid) if n > after]
        ok = [n for n, r in seen if all(w in r.split() for w in want)]
        for a, b in zip(ok, ok[1:]):
            if b == a + 1:
                return b
        time.sleep(1)
    raise AssertionError("no two rounds with %s after round %d; last rounds: %s" % (want, after, seen[-6:]))


def test_groups_and_acls_between_two_guests(env, ec2):
    try:
        ami = import_tiny(ec2)
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        csub = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.16.0/20")["Subnet"]["SubnetId"]
        srv = ec2.create_security_group(GroupName="srv", Description="server")["GroupId"]
        cli = ec2.create_security_group(GroupName="cli", Description="client")["GroupId"]
        rule = ec2.authorize_security_group_ingress(GroupId=srv, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": cli}]},
            {"IpProtocol": "tcp", "FromPort": 7070, "ToPort": 7070, "UserIdGroupPairs": [{"GroupId": cli}]}])
        rule8080, rule7070 = [x["SecurityGroupRuleId"] for x in rule["SecurityGroupRules"]]

        s = ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1, SecurityGroupIds=[srv],
                              UserData=SERVER.replace("__LABEL__", "a"))["Instances"][0]
        sid, sip, ssub = s["InstanceId"], s["PrivateIpAddress"], s["SubnetId"]
        c = ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1, SecurityGroupIds=[cli],
                              SubnetId=csub, UserData=CLIENT.replace("__SERVER__", sip))["Instances"][0]
        cid = c["InstanceId"]
        assert [g["GroupId"] for g in c["SecurityGroups"]] == [cli] and c["SubnetId"] == csub
        wait_state(ec2, [sid, cid], "running")
        wait_marker(ec2, sid, "HOSTD-TEST: listening", timeout=240)

        # the group reference opens 8080 and 7070 only; no ICMP rule yet
        n = wait_round(ec2, cid, ["8080=open", "7070=open", "9090=closed", "ping=fail"], timeout=240)
        # ICMP echo from the client's group, live
        ec2.authorize_security_group_ingress(GroupId=srv, IpPermissions=[
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "UserIdGroupPairs": [{"GroupId": cli}]}])
        n = wait_round(ec2, cid, ["8080=open", "ping=ok"], after=n)

        # revoke 7070 while the long connection is open: it keeps working,
        # new connections are refused
        assert ticks(ec2, cid), console(ec2, cid)[-2000:]
        ec2.revoke_security_group_ingress(GroupId=srv, SecurityGroupRuleIds=[rule7070])
        n = wait_round(ec2, cid, ["7070=closed", "8080=open"], after=n)
        t0 = max(ticks(ec2, cid))
        time.sleep(4)
        assert max(ticks(ec2, cid)) >= t0 + 2, "the open connection stopped after the revoke"
        assert "HOSTD-TEST: long closed" not in console(ec2, cid)

        # a NACL deny on the server's subnet beats the group's allow
        dflt = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [ssub]}])
        assoc = [a for a in dflt["NetworkAcls"][0]["Associations"] if a["SubnetId"] == ssub][0]
        acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
        for egress in (False, True):
            ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="-1", RuleAction="allow",
                                         Egress=egress, CidrBlock="0.0.0.0/0")
        ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Protocol="6", RuleAction="deny",
                                     Egress=False, CidrBlock="172.31.16.0/20", PortRange={"From": 8080, "To": 8080})
        new_assoc = ec2.replace_network_acl_association(AssociationId=assoc["NetworkAclAssociationId"],
                                                        NetworkAclId=acl)["NewAssociationId"]
        n = wait_round(ec2, cid, ["8080=closed", "ping=ok"], after=n)
        ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Egress=False)
        n = wait_round(ec2, cid, ["8080=open"], after=n)
        ec2.replace_network_acl_association(AssociationId=new_assoc,
                                            NetworkAclId=dflt["NetworkAcls"][0]["NetworkAclId"])
        ec2.delete_network_acl(NetworkAclId=acl)

        # a CIDR rule for 9090 (the client's subnet), then revoke the 8080 group rule
        ec2.authorize_security_group_ingress(GroupId=srv, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 9090, "ToPort": 9090, "IpRanges": [{"CidrIp": "172.31.16.0/20"}]}])
        n = wait_round(ec2, cid, ["8080=open", "9090=open"], after=n)
        ec2.revoke_security_group_ingress(GroupId=srv, SecurityGroupRuleIds=[rule8080])
        n = wait_round(ec2, cid, ["8080=closed", "9090=open", "ping=ok"], after=n)

        # egress: the client may only reach 9090
        egress = [r for r in ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [cli]}])["SecurityGroupRules"] if r["IsEgress"]]
        ec2.revoke_security_group_egress(GroupId=cli, SecurityGroupRuleIds=[e["SecurityGroupRuleId"] for e in egress])
        n = wait_round(ec2, cid, ["9090=closed", "ping=fail"], after=n)
        ec2.authorize_security_group_egress(GroupId=cli, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 9090, "ToPort": 9090, "IpRanges": [{"CidrIp": sip + "/32"}]}])
        n = wait_round(ec2, cid, ["9090=open", "ping=fail", "8080=closed"], after=n)

        # a group in use cannot be deleted
        with pytest.raises(Exception) as ei:
            ec2.delete_security_group(GroupId=cli)
        assert "DependencyViolation" in str(ei.value)
        ec2.terminate_instances(InstanceIds=[sid, cid])
        wait_state(ec2, [sid, cid], "terminated", timeout=90)
        ec2.delete_security_group(GroupId=srv)
        ec2.delete_security_group(GroupId=cli)
    finally:
        kill_guests(env.hostd.state_dir)


# Probes the server first with its own address, then from another address
# of the subnet, then with its own again, then from another MAC.
SPOOFER = r"""#!/bin/sh
S=__SERVER__
(
dev=$(ip -o -4 route show default | awk '{print $5}')
gw=$(ip -o -4 route show default | awk '{print $3}')
me=$(ip -o -4 addr show dev $dev | awk '{print $4}')
probe() { if echo | nc -w 2 $S 8080 2>/dev/null | grep -q pong; then echo open; else echo closed; fi; }
i=0
while [ $i -lt 60 ]; do r=$(probe); [ $r = open ] && break; i=$((i+1)); sleep 1; done
echo "HOSTD-TEST: own $r"
ip addr del $me dev $dev
ip addr add __OTHER__/24 dev $dev
ip route add default via $gw
for i in 1 2 3; do echo "HOSTD-TEST: spoofed-ip $(probe)"; done
ip addr del __OTHER__/24 dev $dev
ip addr add $me dev $dev
ip route add default via $gw
sleep 1
echo "HOSTD-TEST: own-again $(probe)"
ip link set $dev address 02:00:00:00:00:99
for i in 1 2 3; do echo "HOSTD-TEST: spoofed-mac $(probe)"; done
echo "HOSTD-TEST: spoof done"
) &
"""

# Which server answers at the address (pong-8080-<label>), and whether
# the other VPC's guest address answers at all.
CROSS = r"""#!/bin/sh
(
n=0
while true; do
  n=$((n+1))
  a=$(echo | nc -w 2 __SERVER__ 8080 2>/dev/null)
  b=$(echo | nc -w 2 __OTHER__ 8080 2>/dev/null)
  echo "HOSTD-TEST: cross $n server=${a:-none} other=${b:-none}"
  sleep 1
done
) &
"""


def test_vpcs_isolated_and_spoofing_dropped(env, ec2):
    try:
        ami = import_tiny(ec2)
        subnets, groups = [], []
        for _ in range(2):
            v = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
            subnets.append(ec2.create_subnet(VpcId=v, CidrBlock="10.50.1.0/24")["Subnet"]["SubnetId"])
            g = ec2.create_security_group(GroupName="web", Description="8080 from the VPC", VpcId=v)["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=g, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.50.0.0/16"}]}])
            groups.append(g)

        def run(i, ip, ud):
            return ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1,
                                     SubnetId=subnets[i], PrivateIpAddress=ip, SecurityGroupIds=[groups[i]],
                                     UserData=ud)["Instances"][0]["InstanceId"]

        sa = run(0, "10.50.1.10", SERVER.replace("__LABEL__", "a"))
        sb = run(1, "10.50.1.10", SERVER.replace("__LABEL__", "b"))
        spoof = run(0, "10.50.1.30",
                    SPOOFER.replace("__SERVER__", "10.50.1.10").replace("__OTHER__", "10.50.1.31"))
        cross = run(1, "10.50.1.20", CROSS.replace("__SERVER__", "10.50.1.10").replace("__OTHER__", "10.50.1.30"))
        wait_state(ec2, [sa, sb, spoof, cross], "running")

        # the same address in each VPC: B's client always meets B's server,
        # and A's guests are not there at all
        text = wait_marker(ec2, cross, "server=pong-8080-b", timeout=300, count=3)
        lines = re.findall(r"HOSTD-TEST: cross \d+ server=(\S+) other=(\S+)", text)
        assert all(s in ("pong-8080-b", "none") for s, _ in lines), lines
        assert all(o == "none" for _, o in lines), lines

        # A works for its own guest; moved address or MAC reaches nothing
        text = wait_marker(ec2, spoof, "HOSTD-TEST: spoof done", timeout=300)
        assert "HOSTD-TEST: own open" in text, text[-2000:]
        assert re.findall(r"spoofed-ip (\w+)", text) == ["closed"] * 3, text[-2000:]
        assert "HOSTD-TEST: own-again open" in text, text[-2000:]
        assert re.findall(r"spoofed-mac (\w+)", text) == ["closed"] * 3, text[-2000:]
        ec2.terminate_instances(InstanceIds=[sa, sb, spoof, cross])
        wait_state(ec2, [sa, sb, spoof, cross], "terminated", timeout=120)
    finally:
        kill_guests(env.hostd.state_dir)
