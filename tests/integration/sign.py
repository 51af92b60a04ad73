"""Raw-request helpers: requests signed by botocore's own SigV4 signer, and
by a signer built only from the openssl command line (no Python crypto),
so hostd's verifier is checked against two implementations we did not
write."""

import datetime
import http.client
import subprocess
import urllib.parse

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def send(endpoint, method, path, headers, body=b""):
    u = urllib.parse.urlsplit(endpoint)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def botocore_signed(endpoint, params, ak, sk, token=None, method="POST", query_auth=False, expires=300):
    creds = Credentials(ak, sk, token)
    if method == "POST":
        # The query signer moves a dict body into the query string itself.
        req = AWSRequest(method="POST", url=endpoint + "/",
                         data=dict(params) if query_auth else urllib.parse.urlencode(params),
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    else:
        req = AWSRequest(method="GET", url=endpoint + "/?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))
    if query_auth:
        SigV4QueryAuth(creds, "ec2", "us-east-1", expires=expires).add_auth(req)
    else:
        SigV4Auth(creds, "ec2", "us-east-1").add_auth(req)
    p = req.prepare()
    u = urllib.parse.urlsplit(p.url)
    path = u.path + ("?" + u.query if u.query else "")
    body = p.body or b""
    if isinstance(body, str):
        body = body.encode()
    return send(endpoint, p.method, path, dict(p.headers), body)


def _openssl(args, data):
    return subprocess.run(["openssl"] + args, input=data, capture_output=True, check=True).stdout


def _hmac_hex(key_hex, msg):
    out = _openssl(["dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:" + key_hex], msg)
    return out.decode().strip().split("= ")[-1]


def _sha256_hex(data):
    return _openssl(["dgst", "-sha256"], data).decode().strip().split("= ")[-1]


def openssl_signed(endpoint, body, ak, sk, when=None, region="us-east-1", service="ec2", extra_headers=None):
    """POST body (bytes, already form-encoded) signed with host;x-amz-date."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    host = urllib.parse.urlsplit(endpoint).netloc
    headers = {"host": host, "x-amz-date": amz_date,
               "content-type": "application/x-www-form-urlencoded"}
    headers.update(extra_headers or {})
    names = sorted(headers)
    # SigV4 canonical values: trimmed, inner runs of spaces collapsed.
    canon = "POST\n/\n\n" + "".join("%s:%s\n" % (n, " ".join(headers[n].split())) for n in names) + "\n" + \
        ";".join(names) + "\n" + _sha256_hex(body)
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz_date, scope, _sha256_hex(canon.encode()))
    k = ("AWS4" + sk).encode().hex()
    for part in (day, region, service, "aws4_request"):
        k = _hmac_hex(k, part.encode())
    sig = _hmac_hex(k, sts.encode())
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ak, scope, ";".join(names), sig)
    return send(endpoint, "POST", "/", headers, body)
