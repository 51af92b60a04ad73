"""The IMDSv2 hop limit, end to end over real IP: hostd-imds-pipe serves a
TCP connection as the VPC listener (net/imdsl.c) hands it one, and a new
token's response leaves with IP TTL = hop_limit. Three network namespaces,
client -> router -> server: with hop_limit=1 the token dies at the router
(as a container behind a guest gets none), GETs still work; with 2 it
arrives. The limit is re-read per request, as hostd rewrites options."""
import os
import random
import subprocess
import sys
import tempfile
import shutil
import time

import pytest

from conftest import ROOT

PIPE = os.environ.get("IMDS_PIPE_BIN") or os.path.join(ROOT, "build", "bin", "hostd-imds-pipe")
IID = "i-0123456789abcdef0"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")

# socat hands the accepted TCP socket itself to the pipe (nofork), as
# net/imdsl.c does.
LISTEN = "socat TCP-LISTEN:8080,bind={ip},reuseaddr,fork EXEC:'{pipe} --dir {dir}',nofork"


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


@pytest.fixture
def hops():
    tag = "%04x" % random.randrange(1 << 16)
    net = random.randrange(16, 250)
    ns = {k: "mdh-%s-%s" % (k, tag) for k in ("cli", "rtr", "srv")}
    srv_ip, cli_ip = "100.127.%d.2" % net, "100.126.%d.2" % net
    d = tempfile.mkdtemp(prefix="imds-hops-")
    imds = os.path.join(d, "imds")
    os.makedirs(os.path.join(imds, "meta-data"))
    with open(os.path.join(imds, "meta-data", "instance-id"), "w") as f:
        f.write(IID)
    with open(os.path.join(imds, "token.key"), "wb") as f:
        f.write(os.urandom(32))
    listener = None
    try:
        for n in ns.values():
            sh("ip", "netns", "add", n)
            sh("ip", "-n", n, "link", "set", "lo", "up")
        sh("ip", "link", "add", "mdhs" + tag, "netns", ns["srv"], "type", "veth", "peer", "mdhr" + tag,
           "netns", ns["rtr"])
        sh("ip", "link", "add", "mdhc" + tag, "netns", ns["cli"], "type", "veth", "peer", "mdhq" + tag,
           "netns", ns["rtr"])
        for n, dev, addr in ((ns["srv"], "mdhs", srv_ip), (ns["rtr"], "mdhr", "100.127.%d.1" % net),
                             (ns["cli"], "mdhc", cli_ip), (ns["rtr"], "mdhq", "100.126.%d.1" % net)):
            sh("ip", "-n", n, "addr", "add", addr + "/24", "dev", dev + tag)
            sh("ip", "-n", n, "link", "set", dev + tag, "up")
        sh("ip", "-n", ns["srv"], "route", "add", "default", "via", "100.127.%d.1" % net)
        sh("ip", "-n", ns["cli"], "route", "add", "default", "via", "100.126.%d.1" % net)
        sh("ip", "netns", "exec", ns["rtr"], "sysctl", "-qw", "net.ipv4.ip_forward=1")
        listener = subprocess.Popen(["ip", "netns", "exec", ns["srv"], "sh", "-c",
                                     "exec " + LISTEN.format(ip=srv_ip, pipe=PIPE, dir=imds)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = "http://%s:8080" % srv_ip
        deadline = time.time() + 10
        while time.time() < deadline:
            if sh("ip", "netns", "exec", ns["cli"], "curl", "-s", "-m", "2", url + "/", check=False).returncode == 0:
                break
            time.sleep(0.2)
        yield ns, url, imds
    finally:
        if listener:
            listener.terminate()
            listener.wait(10)
        for n in ns.values():
            sh("ip", "netns", "del", n, check=False)
        shutil.rmtree(d, ignore_errors=True)


def set_hops(imds, n):
    tmp = os.path.join(imds, ".options.tmp")
    with open(tmp, "w") as f:
        f.write("instance_id=%s\nhttp_tokens=optional\nhttp_endpoint=enabled\nhop_limit=%d\n" % (IID, n))
    os.rename(tmp, os.path.join(imds, "options"))


def curl(ns, *args):
    return sh("ip", "netns", "exec", ns["cli"], "curl", "-s", "-m", "3", *args, check=False)


def test_token_ttl_is_the_hop_limit(hops):
    ns, url, imds = hops
    put = ("-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", url + "/latest/api/token")
    set_hops(imds, 1)
    # two hops away: GETs (IMDSv1) arrive, the token's response does not
    r = curl(ns, url + "/latest/meta-data/instance-id")
    assert r.returncode == 0 and r.stdout == IID, r
    r = curl(ns, *put)
    assert r.returncode == 28 and r.stdout == "", r  # curl: operation timed out
    # the router saw the token's response arrive with TTL 1 and dropped it
    set_hops(imds, 2)
    r = curl(ns, *put)
    assert r.returncode == 0 and len(r.stdout) == 55, r
    tok = r.stdout
    r = curl(ns, "-H", "X-aws-ec2-metadata-token: " + tok, url + "/latest/meta-data/instance-id")
    assert r.returncode == 0 and r.stdout == IID, r
    # from the router itself (one hop), a limit of 1 is enough
    set_hops(imds, 1)
    r = sh("ip", "netns", "exec", ns["rtr"], "curl", "-s", "-m", "3", *put, check=False)
    assert r.returncode == 0 and len(r.stdout) == 55, r
