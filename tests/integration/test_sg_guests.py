"""Security groups enforced on real guests: two tiny-AMI instances in one
subnet. The server listens on TCP 8080 and 9090; the client's user-data
probes both ports and pings the server every second and prints one line per
round on its console. The test changes groups through the API and waits for
the rounds to show the change: group-reference rules, ICMP, revoke, egress
restriction, and a client that changes its address reaching nothing."""
import re
import time

import pytest

from guests import import_tiny, kill_guests, wait_marker, wait_state

SERVER = r"""#!/bin/sh
for p in 8080 9090; do
  printf '#!/bin/sh\necho pong-%s\n' $p > /tmp/pong$p
  chmod +x /tmp/pong$p
  nc -ll -p $p -e /tmp/pong$p &
done
echo "HOSTD-TEST: listening"
"""

# __SERVER__ is replaced by the server's address.
CLIENT = r"""#!/bin/sh
S=__SERVER__
(
n=0
while true; do
  n=$((n+1))
  r=""
  for p in 8080 9090; do
    if echo | nc -w 2 $S $p 2>/dev/null | grep -q pong-$p; then r="$r $p=open"; else r="$r $p=closed"; fi
  done
  if ping -c 1 -W 2 $S >/dev/null 2>&1; then r="$r ping=ok"; else r="$r ping=fail"; fi
  echo "HOSTD-TEST: round $n$r"
  sleep 1
done
) &
"""


def rounds(ec2, iid):
    text = ec2.get_console_output(InstanceId=iid, Latest=True).get("Output", "")
    return [(int(n), rest.strip()) for n, rest in re.findall(r"HOSTD-TEST: round (\d+)([^\r\n]*)", text)]


def wait_round(ec2, iid, want, after=0, timeout=90):
    """Waits for a round numbered above `after` whose results include every
    item of want ("8080=open", ...); returns its number. Two such rounds in
    a row are required so a probe that began before the change cannot
    decide."""
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


def last_round(ec2, iid):
    r = rounds(ec2, iid)
    return r[-1][0] if r else 0


def test_groups_enforced_between_two_guests(env, ec2):
    try:
        ami = import_tiny(ec2)
        srv = ec2.create_security_group(GroupName="srv", Description="server")["GroupId"]
        cli = ec2.create_security_group(GroupName="cli", Description="client")["GroupId"]
        rule = ec2.authorize_security_group_ingress(GroupId=srv, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": cli}]}])
        rule8080 = rule["SecurityGroupRules"][0]["SecurityGroupRuleId"]

        s = ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1,
                              SecurityGroupIds=[srv], UserData=SERVER)["Instances"][0]
        sid, sip = s["InstanceId"], s["PrivateIpAddress"]
        c = ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1,
                              SecurityGroupIds=[cli], UserData=CLIENT.replace("__SERVER__", sip))["Instances"][0]
        cid = c["InstanceId"]
        assert [g["GroupId"] for g in c["SecurityGroups"]] == [cli]
        wait_state(ec2, [sid, cid], "running")
        wait_marker(ec2, sid, "HOSTD-TEST: listening", timeout=240)

        # the group reference opens 8080 only; no ICMP rule yet
        n = wait_round(ec2, cid, ["8080=open", "9090=closed", "ping=fail"], timeout=240)

        # ICMP echo from the client's group, live
        ec2.authorize_security_group_ingress(GroupId=srv, IpPermissions=[
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "UserIdGroupPairs": [{"GroupId": cli}]}])
        n = wait_round(ec2, cid, ["8080=open", "ping=ok"], after=n)

        # a CIDR rule for 9090 (the subnet), then revoke the 8080 group rule
        sub = ec2.describe_subnets(SubnetIds=[s["SubnetId"]])["Subnets"][0]["CidrBlock"]
        ec2.authorize_security_group_ingress(GroupId=srv, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 9090, "ToPort": 9090, "IpRanges": [{"CidrIp": sub}]}])
        n = wait_round(ec2, cid, ["8080=open", "9090=open"], after=n)
        ec2.revoke_security_group_ingress(GroupId=srv, SecurityGroupRuleIds=[rule8080])
        n = wait_round(ec2, cid, ["8080=closed", "9090=open", "ping=ok"], after=n)

        # egress: the client may only reach 9090
        egress = [r for r in ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [cli]}])["SecurityGroupRules"] if r["IsEgress"]]
        ec2.revoke_security_group_egress(GroupId=cli, SecurityGroupRuleIds=[e["SecurityGroupRuleId"] for e in egress])
        n = wait_round(ec2, cid, ["9090=closed", "ping=fail"], after=n)
        ec2.authorize_security_group_egress(GroupId=cli, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 9090, "ToPort": 9090, "IpRanges": [{"CidrIp": sub}]}])
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
