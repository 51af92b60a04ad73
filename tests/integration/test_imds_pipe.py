"""hostd-imds-pipe end to end: a loopback listener starts the binary for
every TCP connection with the socket on its stdin/stdout, as QEMU's
guestfwd=...-cmd: does, and real clients talk to it: curl, Python's
http.client (keep-alive), raw sockets (pipelining, garbage) and botocore's
own IMDS region fetcher. Runs the ASan/UBSan build when make provides it;
every process must exit 0 with nothing on stderr."""

import http.client
import os
import re
import socket
import subprocess
import tempfile
import threading
import shutil

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PIPE = os.environ.get("IMDS_PIPE_BIN") or os.path.join(ROOT, "build", "bin", "hostd-imds-pipe")
IID = "i-0123456789abcdef0"


def write_atomic(path, data):
    """As hostd does: temp file, then rename over the old one."""
    tmp = os.path.join(os.path.dirname(path), ".tmp." + os.path.basename(path))
    with open(tmp, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.rename(tmp, path)


class Guestfwd:
    """A listener that runs one pipe process per accepted connection."""

    def __init__(self, imds_dir, slirp=False):
        self.dir = imds_dir
        self.slirp = slirp  # stderr on the connection too, as libslirp does
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.procs = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1")
            p = subprocess.Popen([PIPE, "--dir", self.dir], stdin=conn, stdout=conn,
                                 stderr=conn if self.slirp else subprocess.PIPE, env=env)
            conn.close()
            with self.lock:
                self.procs.append(p)

    def connections(self):
        with self.lock:
            return len(self.procs)

    def finish(self):
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        self.sock.close()
        self.thread.join(5)
        with self.lock:
            procs = list(self.procs)
        for p in procs:
            _, err = p.communicate(timeout=20)
            assert p.returncode == 0, (err or b"").decode(errors="replace")
            assert not err, err.decode(errors="replace")


@pytest.fixture
def imds():
    top = tempfile.mkdtemp(prefix="imds-it-")
    d = os.path.join(top, "imds")
    for sub in ("meta-data/placement", "meta-data/public-keys/0", "dynamic/instance-identity"):
        os.makedirs(os.path.join(d, sub))
    files = {
        "meta-data/instance-id": IID,
        "meta-data/instance-type": "t3.micro",
        "meta-data/placement/availability-zone": "us-east-1a",
        "meta-data/placement/region": "us-east-1",
        "meta-data/public-keys/.listing": "0=my-key",
        "meta-data/public-keys/0/openssh-key": "ssh-ed25519 AAAAC3Nza my-key\n",
        "dynamic/instance-identity/document": '{"instanceId" : "%s"}' % IID,
        "user-data": b"#cloud-config\n\xff\x00raw",
        "options": "instance_id=%s\nhttp_tokens=optional\nhttp_endpoint=enabled\nhop_limit=1\n" % IID,
        "token.key": os.urandom(32),
    }
    for name, data in files.items():
        write_atomic(os.path.join(d, name), data)
    os.chmod(os.path.join(d, "token.key"), 0o600)
    g = Guestfwd(d)
    yield g
    g.finish()
    shutil.rmtree(top)


def curl(*args):
    out = subprocess.run(["curl", "-sS", "--max-time", "10"] + list(args), check=True,
                         capture_output=True)
    return out.stdout


def curl_status(*args):
    return int(curl("-o", "/dev/null", "-w", "%{http_code}", *args))


def test_curl_imdsv2(imds):
    token = curl("-X", "PUT", imds.url + "/latest/api/token",
                 "-H", "X-aws-ec2-metadata-token-ttl-seconds: 21600").decode()
    assert re.fullmatch(r"[A-Za-z0-9_-]{55}", token)
    hdr = ["-H", "X-aws-ec2-metadata-token: " + token]
    assert curl(*hdr, imds.url + "/latest/meta-data/instance-id").decode() == IID
    assert curl(*hdr, imds.url + "/latest/meta-data/").decode() == \
        "instance-id\ninstance-type\nplacement/\npublic-keys/"
    assert curl(*hdr, imds.url + "/latest/meta-data/public-keys/").decode() == "0=my-key"
    assert curl(*hdr, imds.url + "/latest/user-data") == b"#cloud-config\n\xff\x00raw"
    head = curl("-i", *hdr, imds.url + "/latest/meta-data/placement/availability-zone").decode()
    assert head.startswith("HTTP/1.1 200 OK\r\n")
    assert "\r\nServer: EC2ws\r\n" in head and "\r\nContent-Type: text/plain\r\n" in head
    ttl = int(re.search(r"X-Aws-Ec2-Metadata-Token-Ttl-Seconds: (\d+)", head).group(1))
    assert 21590 <= ttl <= 21600
    assert head.endswith("\r\n\r\nus-east-1a")
    assert curl_status("-H", "X-aws-ec2-metadata-token: x" + token[1:], imds.url + "/latest/meta-data/") == 401
    assert curl_status("-X", "PUT", imds.url + "/latest/api/token") == 400
    assert curl_status("-X", "PUT", imds.url + "/latest/api/token", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 5",
                       "-H", "X-Forwarded-For: 1.2.3.4") == 403


def test_curl_imdsv1_and_errors(imds):
    versions = curl(imds.url + "/").decode().split("\n")
    assert versions[0] == "1.0" and versions[-1] == "latest" and "2009-04-04" in versions
    assert curl(imds.url + "/latest/").decode() == "dynamic\nmeta-data\nuser-data"
    assert curl(imds.url + "/2016-09-02/meta-data/instance-id").decode() == IID
    page = curl("-i", imds.url + "/latest/meta-data/nope").decode()
    assert page.startswith("HTTP/1.1 404 Not Found\r\n") and "Content-Type: text/html" in page
    assert "<title>404 - Not Found</title>" in page
    assert curl_status("--path-as-is", imds.url + "/latest/meta-data/../options") == 404
    assert curl_status(imds.url + "/latest/meta-data/%2e%2e/token.key") == 404
    assert curl_status("-X", "DELETE", imds.url + "/latest/meta-data/") == 405
    assert curl_status("-I", imds.url + "/latest/meta-data/instance-id") == 200


def test_options_are_read_per_request(imds):
    """One keep-alive connection, one process: option changes apply to the
    very next request."""
    c = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=10)
    c.request("GET", "/latest/meta-data/instance-id")
    r = c.getresponse()
    assert (r.status, r.read().decode()) == (200, IID)
    assert r.getheader("Connection") == "keep-alive"
    write_atomic(os.path.join(imds.dir, "options"), "instance_id=%s\nhttp_tokens=required\n" % IID)
    c.request("GET", "/latest/meta-data/instance-id")
    r = c.getresponse()
    assert r.status == 401 and "401 - Unauthorized" in r.read().decode()
    c.request("PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    r = c.getresponse()
    token = r.read().decode()
    assert r.status == 200 and r.getheader("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "60"
    c.request("GET", "/latest/meta-data/placement/region", headers={"X-aws-ec2-metadata-token": token})
    r = c.getresponse()
    assert (r.status, r.read().decode()) == (200, "us-east-1")
    # A new key invalidates every token at once.
    write_atomic(os.path.join(imds.dir, "token.key"), os.urandom(32))
    c.request("GET", "/latest/meta-data/placement/region", headers={"X-aws-ec2-metadata-token": token})
    r = c.getresponse()
    assert r.status == 401
    r.read()
    write_atomic(os.path.join(imds.dir, "options"), "instance_id=%s\nhttp_endpoint=disabled\n" % IID)
    c.request("GET", "/latest/meta-data/instance-id")
    r = c.getresponse()
    assert r.status == 403
    r.read()
    c.close()
    assert imds.connections() == 1


def read_all(s):
    """Everything until the server closes, then closes s."""
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out


def raw(port, data, shutdown=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(data)
    if shutdown:
        s.shutdown(socket.SHUT_WR)
    return read_all(s)


def test_pipelining_and_garbage(imds):
    reqs = (b"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n\r\n"
            b"PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 9\r\nContent-Length: 2\r\n\r\nhi"
            b"GET /latest/dynamic/instance-identity/document HTTP/1.1\r\n\r\n")
    out = raw(imds.port, reqs)
    assert out.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert out.endswith(b'{"instanceId" : "%s"}' % IID.encode())
    # The stream stays in sync across requests split at every byte.
    s = socket.create_connection(("127.0.0.1", imds.port), timeout=20)
    for i in range(len(reqs)):
        s.sendall(reqs[i:i + 1])
    s.shutdown(socket.SHUT_WR)
    split = read_all(s)
    assert split.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert split.startswith(out[:out.index(b"\r\nDate: ")])
    assert split.endswith(b'{"instanceId" : "%s"}' % IID.encode())
    # Garbage: one 400 and the connection closes (without our shutdown).
    out = raw(imds.port, os.urandom(3000) + b"\n", shutdown=False)
    assert out.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Connection: close\r\n" in out
    out = raw(imds.port, b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 9000 + b"\r\n\r\n", shutdown=False)
    assert out.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_botocore_region_fetcher(imds):
    """The SDK's own IMDSv2 client (token, then placement/availability-zone)."""
    from botocore.utils import InstanceMetadataRegionFetcher

    fetcher = InstanceMetadataRegionFetcher(base_url=imds.url + "/", timeout=5, num_attempts=1)
    assert fetcher.retrieve_region() == "us-east-1"
    write_atomic(os.path.join(imds.dir, "options"), "instance_id=%s\nhttp_tokens=required\n" % IID)
    assert fetcher.retrieve_region() == "us-east-1"


def test_stderr_is_the_connection(imds):
    """libslirp passes the connection as stderr as well: the warning about
    an unreadable options file must not reach the guest."""
    os.rename(os.path.join(imds.dir, "options"), os.path.join(imds.dir, "options.off"))
    slirp = Guestfwd(imds.dir, slirp=True)
    try:
        out = raw(slirp.port, b"GET /latest/meta-data/instance-id HTTP/1.1\r\nConnection: close\r\n\r\n",
                  shutdown=False)
    finally:
        slirp.finish()
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert len(body) == length and body.endswith(b"</html>")
    assert b"options" not in out and b"warn" not in out
