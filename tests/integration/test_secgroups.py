"""Security groups and network ACLs through boto3 and the AWS CLI: rules,
ids, EC2's defaults, limits and errors. Enforcement on real traffic is
tested in test_firewall_ns.py and with guests in test_vpc_guests.py."""

import botocore.exceptions
import pytest


def code(fn, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        fn(**kw)
    return ei.value.response["Error"]["Code"]


def default_vpc(ec2):
    v = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert len(v) == 1
    return v[0]["VpcId"]


def group(ec2, gid):
    return ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]


def test_default_group_and_new_group_defaults(ec2):
    vpc = default_vpc(ec2)
    d = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                              {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert len(d) == 1
    d = d[0]
    # the default group admits its own members and lets everything out
    assert d["IpPermissions"][0]["IpProtocol"] == "-1"
    assert d["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == d["GroupId"]
    assert d["IpPermissionsEgress"][0]["IpRanges"][0]["CidrIp"] == "0.0.0.0/0"
    assert code(ec2.delete_security_group, GroupId=d["GroupId"]) == "CannotDelete"

    g = ec2.create_security_group(GroupName="web", Description="web servers", VpcId=vpc,
                                  TagSpecifications=[{"ResourceType": "security-group",
                                                      "Tags": [{"Key": "tier", "Value": "front"}]}])
    gid = g["GroupId"]
    assert gid.startswith("sg-") and len(gid) == 20
    assert g["Tags"] == [{"Key": "tier", "Value": "front"}]
    s = group(ec2, gid)
    assert s["IpPermissions"] == []
    assert s["IpPermissionsEgress"][0]["IpProtocol"] == "-1"
    assert s["VpcId"] == vpc and s["Description"] == "web servers" and s["OwnerId"] == "111111111111"
    # (newer than Debian's botocore 1.29; the validator checks the element)
    assert s.get("SecurityGroupArn", ":security-group/" + gid).endswith(":security-group/" + gid)
    # without VpcId the default VPC is meant
    g2 = ec2.create_security_group(GroupName="db", Description="d")["GroupId"]
    assert group(ec2, g2)["VpcId"] == vpc
    assert code(ec2.create_security_group, GroupName="web", Description="again") == "InvalidGroup.Duplicate"
    assert code(ec2.create_security_group, GroupName="default", Description="x") == "InvalidGroup.Reserved"
    assert code(ec2.create_security_group, GroupName="sg-abc", Description="x") == "InvalidParameterValue"
    assert code(ec2.create_security_group, GroupName="x", Description="caf\u00e9") == "InvalidParameterValue"
    assert code(ec2.create_security_group, GroupName="y", Description="d",
                VpcId="vpc-0123456789abcdef0") == "InvalidVpcID.NotFound"
    assert code(ec2.create_security_group, GroupName="y", Description="d", VpcId="vpc-zz") == \
        "InvalidVpcID.Malformed"
    # by name in the default VPC
    assert ec2.describe_security_groups(GroupNames=["web"])["SecurityGroups"][0]["GroupId"] == gid
    ec2.delete_security_group(GroupName="db")
    assert code(ec2.describe_security_groups, GroupIds=[g2]) == "InvalidGroup.NotFound"
    assert code(ec2.describe_security_groups, GroupIds=["sg-1"]) == "InvalidGroupId.Malformed"


def test_authorize_describe_revoke(ec2):
    gid = ec2.create_security_group(GroupName="app", Description="app")["GroupId"]
    peer = ec2.create_security_group(GroupName="lb", Description="lb")["GroupId"]
    r = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "admins"}, {"CidrIp": "192.168.1.0/24"}]},
        {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": peer}]},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "17", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]},
    ])
    assert r["Return"] is True
    rules = r["SecurityGroupRules"]
    assert len(rules) == 5 and all(x["SecurityGroupRuleId"].startswith("sgr-") for x in rules)
    assert {x["IpProtocol"] for x in rules} == {"tcp", "icmp", "udp"}
    ref = [x for x in rules if "ReferencedGroupInfo" in x][0]
    assert ref["ReferencedGroupInfo"]["GroupId"] == peer and ref["FromPort"] == 8000

    s = group(ec2, gid)
    perms = {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort")): p for p in s["IpPermissions"]}
    ssh = perms[("tcp", 22, 22)]
    assert sorted(x["CidrIp"] for x in ssh["IpRanges"]) == ["10.0.0.0/8", "192.168.1.0/24"]
    assert [x.get("Description") for x in ssh["IpRanges"] if x["CidrIp"] == "10.0.0.0/8"] == ["admins"]
    assert perms[("tcp", 8000, 8080)]["UserIdGroupPairs"][0]["GroupId"] == peer
    assert ("icmp", 8, -1) in perms and ("udp", 53, 53) in perms

    # filters over permissions
    f = ec2.describe_security_groups(Filters=[{"Name": "ip-permission.from-port", "Values": ["8000"]}])
    assert [x["GroupId"] for x in f["SecurityGroups"]] == [gid]
    f = ec2.describe_security_groups(Filters=[{"Name": "ip-permission.group-id", "Values": [peer]}])
    assert [x["GroupId"] for x in f["SecurityGroups"]] == [gid]

    # duplicates, in the request or against what exists
    assert code(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]) == \
        "InvalidPermission.Duplicate"
    # a referenced group cannot be deleted while used
    assert code(ec2.delete_security_group, GroupId=peer) == "DependencyViolation"

    # DescribeSecurityGroupRules by group and by id
    all_rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])
    assert len(all_rules["SecurityGroupRules"]) == 6  # 5 ingress + the default egress
    one = ec2.describe_security_group_rules(SecurityGroupRuleIds=[ref["SecurityGroupRuleId"]])
    assert one["SecurityGroupRules"][0]["ReferencedGroupInfo"]["GroupId"] == peer

    # revoke by rule (the matching source only) and by id
    r = ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "192.168.1.0/24"}]}])
    # (Debian's botocore 1.29 predates RevokedSecurityGroupRules; the
    # validator checks the element against the newest model)
    assert r["Return"] is True and len(r.get("RevokedSecurityGroupRules", [1])) == 1
    r = ec2.revoke_security_group_ingress(GroupId=gid, SecurityGroupRuleIds=[ref["SecurityGroupRuleId"]])
    assert r.get("RevokedSecurityGroupRules", [{"ReferencedGroupId": peer}])[0]["ReferencedGroupId"] == peer
    ec2.delete_security_group(GroupId=peer)
    # a rule that matches nothing comes back as unknown
    r = ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "1.2.3.4/32"}]}])
    assert r["Return"] is False and r["UnknownIpPermissions"][0]["FromPort"] == 1
    assert code(ec2.revoke_security_group_ingress, GroupId=gid,
                SecurityGroupRuleIds=["sgr-0123456789abcdef0"]) == "InvalidSecurityGroupRuleId.NotFound"
    left = group(ec2, gid)["IpPermissions"]
    assert sorted((p["IpProtocol"], p.get("FromPort")) for p in left) == [("icmp", 8), ("tcp", 22), ("udp", 53)]


def test_egress_and_modify_rules(ec2):
    gid = ec2.create_security_group(GroupName="locked", Description="no egress")["GroupId"]
    eg = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
    assert len(eg) == 1 and eg[0]["IsEgress"] and eg[0]["IpProtocol"] == "-1" and eg[0]["FromPort"] == -1
    ec2.revoke_security_group_egress(GroupId=gid, SecurityGroupRuleIds=[eg[0]["SecurityGroupRuleId"]])
    assert group(ec2, gid)["IpPermissionsEgress"] == []
    r = ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
    rid = r["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    assert r["SecurityGroupRules"][0]["IsEgress"] is True
    ec2.modify_security_group_rules(GroupId=gid, SecurityGroupRules=[{
        "SecurityGroupRuleId": rid,
        "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIpv4": "10.0.0.0/16",
                              "Description": "plain http"}}])
    x = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])["SecurityGroupRules"][0]
    assert (x["FromPort"], x["ToPort"], x["Description"]) == (80, 80, "plain http")
    assert group(ec2, gid)["IpPermissionsEgress"][0]["FromPort"] == 80


def test_bad_rules_and_limits(ec2):
    gid = ec2.create_security_group(GroupName="bad", Description="bad input")["GroupId"]

    def auth(**p):
        return code(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=[p])

    assert auth(IpProtocol="tcp", FromPort=70000, ToPort=70001, IpRanges=[{"CidrIp": "1.0.0.0/8"}]) == \
        "InvalidParameterValue"
    assert auth(IpProtocol="tcp", FromPort=90, ToPort=80, IpRanges=[{"CidrIp": "1.0.0.0/8"}]) == \
        "InvalidParameterValue"
    assert auth(IpProtocol="tcp", IpRanges=[{"CidrIp": "1.0.0.0/8"}]) == "InvalidParameterValue"
    assert auth(IpProtocol="tcp", FromPort=1, ToPort=2, IpRanges=[{"CidrIp": "1.2.3.4/33"}]) == \
        "InvalidParameterValue"
    assert auth(IpProtocol="tcp", FromPort=1, ToPort=2, IpRanges=[{"CidrIp": "300.1.1.1/8"}]) == \
        "InvalidParameterValue"
    assert auth(IpProtocol="bogus", FromPort=1, ToPort=2, IpRanges=[{"CidrIp": "1.0.0.0/8"}]) == \
        "InvalidParameterValue"
    assert auth(IpProtocol="icmp", FromPort=-1, ToPort=3, IpRanges=[{"CidrIp": "1.0.0.0/8"}]) == \
        "InvalidParameterValue"
    assert auth(IpProtocol="tcp", FromPort=1, ToPort=2,
                UserIdGroupPairs=[{"GroupId": "sg-0123456789abcdef0"}]) == "InvalidGroup.NotFound"
    # a group of another VPC cannot be referenced
    other_vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    foreign = ec2.create_security_group(GroupName="foreign", Description="x", VpcId=other_vpc)["GroupId"]
    assert auth(IpProtocol="tcp", FromPort=1, ToPort=2, UserIdGroupPairs=[{"GroupId": foreign}]) == \
        "InvalidGroup.NotFound"
    ec2.delete_security_group(GroupId=foreign)
    ec2.delete_vpc(VpcId=other_vpc)
    assert code(ec2.authorize_security_group_ingress, GroupId="sg-0123456789abcdef0", IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "1.0.0.0/8"}]}]) == "InvalidGroup.NotFound"
    # 60 inbound rules per group
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1000 + i, "ToPort": 1000 + i, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
        for i in range(60)])
    assert auth(IpProtocol="tcp", FromPort=5, ToPort=5, IpRanges=[{"CidrIp": "1.0.0.0/8"}]) == \
        "RulesPerSecurityGroupLimitExceeded"
    # nothing of a failed request is kept
    assert len(group(ec2, gid)["IpPermissions"]) == 60


def test_other_account_sees_nothing(ec2, ec2b):
    gid = ec2.create_security_group(GroupName="mine", Description="m")["GroupId"]
    assert code(ec2b.describe_security_groups, GroupIds=[gid]) == "InvalidGroup.NotFound"
    assert code(ec2b.delete_security_group, GroupId=gid) == "InvalidGroup.NotFound"
    assert all(g["OwnerId"] == "222222222222" for g in ec2b.describe_security_groups()["SecurityGroups"])


def test_cli_security_group(env):
    gid = env.aws("create-security-group", "--group-name", "cli", "--description", "from the cli")["GroupId"]
    env.aws("authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp", "--port", "22",
            "--cidr", "203.0.113.0/24")
    g = env.aws("describe-security-groups", "--group-ids", gid)["SecurityGroups"][0]
    assert g["IpPermissions"][0]["IpRanges"][0]["CidrIp"] == "203.0.113.0/24"
    env.aws("revoke-security-group-ingress", "--group-id", gid, "--protocol", "tcp", "--port", "22",
            "--cidr", "203.0.113.0/24")
    env.aws("delete-security-group", "--group-id", gid)


def test_network_acls(ec2):
    vpc = default_vpc(ec2)
    acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                              {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    assert len(acls) == 1
    d = acls[0]
    nums = sorted((e["Egress"], e["RuleNumber"], e["RuleAction"]) for e in d["Entries"])
    assert nums == [(False, 100, "allow"), (False, 32767, "deny"), (True, 100, "allow"), (True, 32767, "deny")]
    assert d["Associations"], "the default subnet is associated with the default ACL"
    assoc = d["Associations"][0]

    n = ec2.create_network_acl(VpcId=vpc, TagSpecifications=[
        {"ResourceType": "network-acl", "Tags": [{"Key": "k", "Value": "v"}]}])["NetworkAcl"]
    aid = n["NetworkAclId"]
    assert aid.startswith("acl-") and n["IsDefault"] is False and n["Tags"] == [{"Key": "k", "Value": "v"}]
    assert sorted(e["RuleNumber"] for e in n["Entries"]) == [32767, 32767]
    ec2.create_network_acl_entry(NetworkAclId=aid, RuleNumber=100, Protocol="6", RuleAction="allow",
                                 Egress=False, CidrBlock="10.0.0.0/8", PortRange={"From": 22, "To": 22})
    ec2.create_network_acl_entry(NetworkAclId=aid, RuleNumber=90, Protocol="tcp", RuleAction="deny",
                                 Egress=False, CidrBlock="10.9.0.0/16", PortRange={"From": 22, "To": 22})
    ec2.create_network_acl_entry(NetworkAclId=aid, RuleNumber=100, Protocol="1", RuleAction="allow",
                                 Egress=True, CidrBlock="0.0.0.0/0", IcmpTypeCode={"Type": -1, "Code": -1})
    assert code(ec2.create_network_acl_entry, NetworkAclId=aid, RuleNumber=100, Protocol="-1",
                RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0") == "NetworkAclEntryAlreadyExists"
    assert code(ec2.create_network_acl_entry, NetworkAclId=aid, RuleNumber=40000, Protocol="-1",
                RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0") == "InvalidParameterValue"
    assert code(ec2.create_network_acl_entry, NetworkAclId=aid, RuleNumber=5, Protocol="-1",
                RuleAction="maybe", Egress=False, CidrBlock="0.0.0.0/0") == "InvalidParameterValue"
    assert code(ec2.create_network_acl_entry, NetworkAclId=aid, RuleNumber=5, Protocol="6",
                RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0") == "InvalidParameterValue"
    ec2.replace_network_acl_entry(NetworkAclId=aid, RuleNumber=100, Protocol="6", RuleAction="allow",
                                  Egress=False, CidrBlock="10.0.0.0/8", PortRange={"From": 22, "To": 23})
    assert code(ec2.replace_network_acl_entry, NetworkAclId=aid, RuleNumber=7, Protocol="-1",
                RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0") == "InvalidNetworkAclEntry.NotFound"
    got = ec2.describe_network_acls(NetworkAclIds=[aid])["NetworkAcls"][0]
    ing = [e for e in got["Entries"] if not e["Egress"]]
    assert [e["RuleNumber"] for e in ing] == [90, 100, 32767]
    assert ing[1]["PortRange"] == {"From": 22, "To": 23} and ing[1]["Protocol"] == "6"
    eg = [e for e in got["Entries"] if e["Egress"]]
    assert eg[0]["IcmpTypeCode"] == {"Type": -1, "Code": -1}
    f = ec2.describe_network_acls(Filters=[{"Name": "entry.rule-number", "Values": ["90"]}])["NetworkAcls"]
    assert [x["NetworkAclId"] for x in f] == [aid]

    # move the default subnet onto the new ACL and back
    new_assoc = ec2.replace_network_acl_association(AssociationId=assoc["NetworkAclAssociationId"],
                                                    NetworkAclId=aid)["NewAssociationId"]
    assert new_assoc.startswith("aclassoc-") and new_assoc != assoc["NetworkAclAssociationId"]
    assert code(ec2.delete_network_acl, NetworkAclId=aid) == "DependencyViolation"
    got = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [assoc["SubnetId"]]}])
    assert [x["NetworkAclId"] for x in got["NetworkAcls"]] == [aid]
    ec2.replace_network_acl_association(AssociationId=new_assoc, NetworkAclId=d["NetworkAclId"])
    ec2.delete_network_acl_entry(NetworkAclId=aid, RuleNumber=90, Egress=False)
    assert code(ec2.delete_network_acl_entry, NetworkAclId=aid, RuleNumber=90, Egress=False) == \
        "InvalidNetworkAclEntry.NotFound"
    ec2.delete_network_acl(NetworkAclId=aid)
    assert code(ec2.describe_network_acls, NetworkAclIds=[aid]) == "InvalidNetworkAclID.NotFound"
    assert code(ec2.delete_network_acl, NetworkAclId=d["NetworkAclId"]) == "InvalidParameterValue"
