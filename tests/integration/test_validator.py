"""Unit tests for ec2_validator (no hostd needed)."""

import http.server
import os
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ec2_validator import (  # noqa: E402
    EC2_NS, ValidationError, attach_to_boto3_client, validate_response)

NS = 'xmlns="%s"' % EC2_NS
RID = "<requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>"


def resp(op, inner, ns=NS, rid=RID):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse %s>\n  %s\n%s\n</%sResponse>'
            % (op, ns, rid, inner, op)).encode()


KEYPAIRS = """
  <keySet>
    <item>
      <keyPairId>key-0123456789abcdef0</keyPairId>
      <keyName>my-key</keyName>
      <keyFingerprint>1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f</keyFingerprint>
      <keyType>rsa</keyType>
      <publicKey>ssh-rsa AAAAB3Nza</publicKey>
      <createTime>2024-01-02T03:04:05.000Z</createTime>
      <tagSet>
        <item><key>env</key><value>test</value></item>
        <item><key>empty</key><value/></item>
      </tagSet>
    </item>
    <item>
      <keyPairId>key-0123456789abcdef1</keyPairId>
      <keyName>other</keyName>
      <keyFingerprint>aa:bb</keyFingerprint>
      <keyType>ed25519</keyType>
      <createTime>2024-01-02T03:04:05Z</createTime>
      <tagSet/>
    </item>
  </keySet>"""

REGIONS = """
  <regionInfo>
    <item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint>
          <optInStatus>opt-in-not-required</optInStatus></item>
    <item><regionName>eu-west-1</regionName><regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint></item>
  </regionInfo>"""

TAGS = """
  <tagSet>
    <item><resourceId>i-1234567890abcdef0</resourceId><resourceType>instance</resourceType>
          <key>Name</key><value>web</value></item>
    <item><resourceId>key-0123456789abcdef0</resourceId><resourceType>key-pair</resourceType>
          <key>env</key><value></value></item>
  </tagSet>
  <nextToken>abc</nextToken>"""

CREATE_KEY = """
  <keyName>my-key</keyName>
  <keyFingerprint>1f:51:ae:28</keyFingerprint>
  <keyMaterial>-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA
-----END RSA PRIVATE KEY-----</keyMaterial>
  <keyPairId>key-0123456789abcdef0</keyPairId>
  <tagSet><item><key>a</key><value>b</value></item></tagSet>"""

INSTANCE_TYPES = """
  <instanceTypeSet>
    <item>
      <instanceType>m5d.large</instanceType>
      <currentGeneration>true</currentGeneration>
      <freeTierEligible>false</freeTierEligible>
      <supportedUsageClasses><item>on-demand</item><item>spot</item></supportedUsageClasses>
      <supportedRootDeviceTypes><item>ebs</item></supportedRootDeviceTypes>
      <supportedVirtualizationTypes><item>hvm</item></supportedVirtualizationTypes>
      <bareMetal>false</bareMetal>
      <hypervisor>nitro</hypervisor>
      <processorInfo>
        <supportedArchitectures><item>x86_64</item></supportedArchitectures>
        <sustainedClockSpeedInGhz>3.1</sustainedClockSpeedInGhz>
      </processorInfo>
      <vCpuInfo>
        <defaultVCpus>2</defaultVCpus>
        <defaultCores>1</defaultCores>
        <defaultThreadsPerCore>2</defaultThreadsPerCore>
        <validCores><item>1</item></validCores>
        <validThreadsPerCore><item>1</item><item>2</item></validThreadsPerCore>
      </vCpuInfo>
      <memoryInfo><sizeInMiB>8192</sizeInMiB></memoryInfo>
      <instanceStorageSupported>true</instanceStorageSupported>
      <instanceStorageInfo>
        <totalSizeInGB>75</totalSizeInGB>
        <disks><item><sizeInGB>75</sizeInGB><count>1</count><type>ssd</type></item></disks>
        <nvmeSupport>required</nvmeSupport>
        <encryptionSupport>required</encryptionSupport>
      </instanceStorageInfo>
      <ebsInfo>
        <ebsOptimizedSupport>default</ebsOptimizedSupport>
        <encryptionSupport>supported</encryptionSupport>
        <ebsOptimizedInfo>
          <baselineBandwidthInMbps>650</baselineBandwidthInMbps>
          <baselineThroughputInMBps>81.25</baselineThroughputInMBps>
          <baselineIops>3600</baselineIops>
        </ebsOptimizedInfo>
        <nvmeSupport>required</nvmeSupport>
      </ebsInfo>
      <networkInfo>
        <networkPerformance>Up to 10 Gigabit</networkPerformance>
        <maximumNetworkInterfaces>3</maximumNetworkInterfaces>
        <networkCards><item><networkCardIndex>0</networkCardIndex>
          <networkPerformance>Up to 10 Gigabit</networkPerformance>
          <maximumNetworkInterfaces>3</maximumNetworkInterfaces></item></networkCards>
        <ipv6Supported>true</ipv6Supported>
        <enaSupport>required</enaSupport>
      </networkInfo>
      <placementGroupInfo><supportedStrategies><item>cluster</item></supportedStrategies></placementGroupInfo>
      <hibernationSupported>true</hibernationSupported>
      <burstablePerformanceSupported>false</burstablePerformanceSupported>
      <supportedBootModes><item>legacy-bios</item><item>uefi</item></supportedBootModes>
    </item>
  </instanceTypeSet>"""

ERROR = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
         b'<Code>InvalidKeyPair.NotFound</Code><Message>The key pair \'x\' does not exist</Message>'
         b'</Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>')


VALID = [
    ("DescribeKeyPairs", KEYPAIRS),
    ("DescribeRegions", REGIONS),
    ("DescribeTags", TAGS),
    ("CreateKeyPair", CREATE_KEY),
    ("DescribeInstanceTypes", INSTANCE_TYPES),
    ("DescribeKeyPairs", "<keySet/>"),
]


@pytest.mark.parametrize("op,inner", VALID)
def test_valid_success(op, inner):
    validate_response(op, 200, resp(op, inner))


def test_valid_error():
    validate_response("DescribeKeyPairs", 400, ERROR)
    validate_response("RunInstances", 503, ERROR.decode())


def test_output_less_operation_return():
    validate_response("DeleteTags", 200, resp("DeleteTags", "<return>true</return>"))
    validate_response("DeleteTags", 200, resp("DeleteTags", ""))
    with pytest.raises(ValidationError, match="return"):
        validate_response("DeleteTags", 200, resp("DeleteTags", "<return>yes</return>"))


def bad(op, body, status=200, *needles):
    with pytest.raises(ValidationError) as ei:
        validate_response(op, status, body)
    msg = str(ei.value)
    assert op in msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_misnamed_element():
    bad("DescribeKeyPairs", resp("DescribeKeyPairs", KEYPAIRS.replace(
        "<keyFingerprint>aa:bb</keyFingerprint>", "<keyFingerPrint>aa:bb</keyFingerPrint>")),
        200, "DescribeKeyPairsResponse/keySet/item[2]/keyFingerPrint", "unknown element")


def test_list_member_not_wrapped_in_item():
    body = resp("DescribeKeyPairs", "<keySet><keyName>a</keyName></keySet>")
    bad("DescribeKeyPairs", body, 200, "DescribeKeyPairsResponse/keySet/keyName", "<item>")
    # flattened list (no wrapper) is also wrong: item appears directly
    body = resp("DescribeKeyPairs", "<item><keyName>a</keyName></item>")
    bad("DescribeKeyPairs", body, 200, "DescribeKeyPairsResponse/item", "unknown element")
    # list wrapper elements repeated instead of using items
    body = resp("DescribeRegions",
                "<regionInfo><item><regionName>a</regionName></item></regionInfo>"
                "<regionInfo><item><regionName>b</regionName></item></regionInfo>")
    bad("DescribeRegions", body, 200, "regionInfo", "duplicate")


def test_wrong_namespace():
    for ns in ('xmlns="http://ec2.amazonaws.com/doc/2016-11-15"',
               'xmlns="http://ec2.amazonaws.com/doc/2013-10-15/"', ""):
        bad("DescribeRegions", resp("DescribeRegions", REGIONS, ns=ns), 200, "namespace")


def test_child_in_wrong_namespace():
    body = resp("DescribeRegions", '<regionInfo xmlns=""/>')
    bad("DescribeRegions", body, 200, "DescribeRegionsResponse/regionInfo", "namespace")


def test_wrong_root_name():
    bad("DescribeRegions", resp("DescribeRegion", REGIONS), 200, "DescribeRegionsResponse")


def test_missing_request_id():
    bad("DescribeRegions", resp("DescribeRegions", REGIONS, rid=""), 200, "requestId")
    bad("DescribeRegions", resp("DescribeRegions", REGIONS, rid="<requestId/>"), 200,
        "requestId", "non-empty")
    # requestId present but not first
    body = resp("DescribeRegions", REGIONS + RID, rid="")
    bad("DescribeRegions", body, 200, "first child")


def test_non_integer_integer():
    body = resp("DescribeInstanceTypes", INSTANCE_TYPES.replace(
        "<defaultVCpus>2</defaultVCpus>", "<defaultVCpus>2.0</defaultVCpus>"))
    bad("DescribeInstanceTypes", body, 200,
        "DescribeInstanceTypesResponse/instanceTypeSet/item[1]/vCpuInfo/defaultVCpus", "integer")
    body = resp("DescribeInstanceTypes", INSTANCE_TYPES.replace(
        "<count>1</count>", "<count>9999999999</count>"))
    bad("DescribeInstanceTypes", body, 200, "disks/item[1]/count", "out of range")
    body = resp("DescribeInstanceTypes", INSTANCE_TYPES.replace(
        "<sizeInMiB>8192</sizeInMiB>", "<sizeInMiB> 8192</sizeInMiB>"))
    bad("DescribeInstanceTypes", body, 200, "memoryInfo/sizeInMiB", "long")
    body = resp("DescribeInstanceTypes", INSTANCE_TYPES.replace(
        "<baselineThroughputInMBps>81.25<", "<baselineThroughputInMBps>nan<"))
    bad("DescribeInstanceTypes", body, 200, "baselineThroughputInMBps", "double")


def test_capitalised_boolean():
    body = resp("DescribeInstanceTypes", INSTANCE_TYPES.replace(
        "<currentGeneration>true<", "<currentGeneration>True<"))
    bad("DescribeInstanceTypes", body, 200, "item[1]/currentGeneration", "boolean")


@pytest.mark.parametrize("ts", ["2024-01-02 03:04:05Z", "2024-01-02T03:04:05.000",
                                "2024-13-02T03:04:05Z", "Tue, 02 Jan 2024 03:04:05 GMT",
                                "1704164645", ""])
def test_bad_timestamp(ts):
    body = resp("DescribeKeyPairs", KEYPAIRS.replace("2024-01-02T03:04:05.000Z", ts))
    bad("DescribeKeyPairs", body, 200, "keySet/item[1]/createTime", "timestamp")


def test_good_timestamps():
    for ts in ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456Z",
               "2024-01-02T03:04:05+02:00"]:
        validate_response("DescribeKeyPairs", 200,
                          resp("DescribeKeyPairs", KEYPAIRS.replace("2024-01-02T03:04:05.000Z", ts)))


def test_invalid_enum():
    body = resp("DescribeKeyPairs", KEYPAIRS.replace("<keyType>rsa<", "<keyType>RSA<"))
    bad("DescribeKeyPairs", body, 200, "keySet/item[1]/keyType", "enum")
    body = resp("DescribeTags", TAGS.replace("<resourceType>instance<", "<resourceType>vm<"))
    bad("DescribeTags", body, 200, "tagSet/item[1]/resourceType", "enum")


def test_unknown_top_level_element():
    bad("DescribeRegions", resp("DescribeRegions", REGIONS + "<return>true</return>"), 200,
        "DescribeRegionsResponse/return", "unknown")


def test_text_in_structure_and_children_in_scalar():
    bad("DescribeRegions", resp("DescribeRegions", "<regionInfo>oops</regionInfo>"), 200,
        "regionInfo", "text")
    bad("DescribeRegions", resp("DescribeRegions",
                                "<regionInfo><item><regionName><x/></regionName></item></regionInfo>"),
        200, "regionInfo/item[1]/regionName", "child")


def test_duplicate_scalar():
    body = resp("DescribeRegions",
                "<regionInfo><item><regionName>a</regionName><regionName>b</regionName></item></regionInfo>")
    bad("DescribeRegions", body, 200, "regionInfo/item[1]/regionName", "duplicate")


def test_malformed_xml():
    bad("DescribeRegions", b"<DescribeRegionsResponse>", 200, "well-formed")


def test_unknown_operation():
    bad("DescribeUnicorns", resp("DescribeUnicorns", ""), 200, "unknown EC2 operation")


def test_error_response_missing_request_id():
    body = ERROR.replace(b"<RequestID>ea966190-f9aa-478e-9ede-example</RequestID>", b"")
    bad("DescribeKeyPairs", body, 400, "RequestID")


@pytest.mark.parametrize("body,needle", [
    (ERROR.replace(b"RequestID", b"RequestId"), "RequestID"),
    (ERROR.replace(b"<Message>The key pair 'x' does not exist</Message>", b""), "Message"),
    (ERROR.replace(b"<Code>InvalidKeyPair.NotFound</Code>", b"<Code></Code>"), "Code"),
    (ERROR.replace(b"<Response>", b'<Response xmlns="%s">' % EC2_NS.encode()), "Response"),
    (ERROR.replace(b"</Errors>", b"</Errors><Extra/>"), "Extra"),
    (resp("DescribeKeyPairs", "<keySet/>"), "Response"),
])
def test_bad_error_responses(body, needle):
    bad("DescribeKeyPairs", body, 400, needle)


def test_success_body_on_error_status_and_vice_versa():
    bad("DescribeKeyPairs", ERROR, 200, "DescribeKeyPairsResponse")
    bad("DescribeKeyPairs", resp("DescribeKeyPairs", KEYPAIRS), 302, "status")


def test_speed():
    body = resp("DescribeKeyPairs", KEYPAIRS)
    validate_response("DescribeKeyPairs", 200, body)  # warm caches
    n = 2000
    t = time.perf_counter()
    for _ in range(n):
        validate_response("DescribeKeyPairs", 200, body)
    per = (time.perf_counter() - t) / n
    assert per < 0.001, "%.1f us per response" % (per * 1e6)


# --------------------------------------------------------------------------
# boto3 hook against a real local HTTP server (not Stubber)
# --------------------------------------------------------------------------

class _Canned(http.server.BaseHTTPRequestHandler):
    status = 200
    body = b""

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        srv = self.server
        srv.requests += 1
        self.send_response(srv.status)
        self.send_header("Content-Type", "text/xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(srv.body)))
        self.end_headers()
        self.wfile.write(srv.body)

    def log_message(self, *a):
        pass


@pytest.fixture
def canned_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    srv.status, srv.body, srv.requests = 200, b"", 0
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        th.join(5)


@pytest.fixture
def ec2_client(canned_server):
    import boto3
    from botocore.config import Config
    client = boto3.client(
        "ec2", region_name="us-east-1",
        endpoint_url="http://127.0.0.1:%d" % canned_server.server_address[1],
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 0, "mode": "standard"}))
    return client


def test_boto3_hook_good_response(canned_server, ec2_client):
    sink = []
    attach_to_boto3_client(ec2_client, sink)
    canned_server.body = resp("DescribeKeyPairs", KEYPAIRS)
    r = ec2_client.describe_key_pairs()
    assert [k["KeyName"] for k in r["KeyPairs"]] == ["my-key", "other"]
    assert sink == []


def test_boto3_hook_sees_bad_raw_body(canned_server, ec2_client):
    sink = []
    attach_to_boto3_client(ec2_client, sink)
    canned_server.body = resp("DescribeKeyPairs", KEYPAIRS.replace(
        "<keyFingerprint>aa:bb</keyFingerprint>", "<keyFingerPrint>aa:bb</keyFingerPrint>"))
    r = ec2_client.describe_key_pairs()
    # botocore silently drops the misnamed field ...
    assert "KeyFingerprint" not in r["KeyPairs"][1]
    # ... but the hook caught it from the raw body.
    assert len(sink) == 1 and isinstance(sink[0], ValidationError)
    assert "keySet/item[2]/keyFingerPrint" in str(sink[0])


def test_boto3_hook_sees_error_responses(canned_server, ec2_client):
    import botocore.exceptions
    sink = []
    attach_to_boto3_client(ec2_client, sink)
    canned_server.status = 400
    canned_server.body = ERROR
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        ec2_client.describe_key_pairs()
    assert ei.value.response["Error"]["Code"] == "InvalidKeyPair.NotFound"
    assert sink == []
    canned_server.body = ERROR.replace(b"<RequestID>ea966190-f9aa-478e-9ede-example</RequestID>", b"")
    with pytest.raises(botocore.exceptions.ClientError):
        ec2_client.describe_key_pairs()
    assert len(sink) == 1 and "RequestID" in str(sink[0])
