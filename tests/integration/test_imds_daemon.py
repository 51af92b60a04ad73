"""hostd-imds, the one metadata server of every VPC (metadata/imdsd.h), with
real processes in real namespaces: guest stand-ins (standin.py) attributed
to their instances talk to 169.254.169.254 through the VPC router.

- it is one long-running child of hostd (the same pid before and after many
  requests: no process per connection), unprivileged, with no groups,
  NoNewPrivs and a seccomp filter, and keep-alive works;
- the token, 400/401/403/404 paths; a source that is no instance's address
  gets its connection closed;
- isolation: instance A cannot use B's token, and reads only its own data;
- counters: a v1 request counts as MetadataNoToken in instances/<id>/imds-stats;
- supervision: kill -9, or death by SIGSYS, and hostd has a new one serving
  within a second;
- the filter: hostd-imds --seccomp-selftest goes through the same privilege
  drop and filter, and every forbidden call dies by SIGSYS; with
  HOSTD_IMDS_SELFTEST the server hostd started makes a forbidden call itself
  once sandboxed, dies by SIGSYS, and hostd keeps restarting it."""
import os
import re
import signal
import subprocess
import time

import pytest

import guests
from conftest import ROOT, Hostd, config_text

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")

IMDS_BIN = os.path.join(ROOT, "build", "bin", "hostd-imds")
CURL = ["curl", "-s", "-m", "5", "-o", "-", "-w", "\\n%{http_code}"]
MD = "http://169.254.169.254"

# One HTTP/1.1 connection for every request (http.client reconnects
# silently, so the test checks the socket's local port stays the same).
KEEPALIVE = r"""
import http.client, sys
n = int(sys.argv[1])
c = http.client.HTTPConnection("169.254.169.254", 80, timeout=5)
c.request("PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
r = c.getresponse(); tok = r.read().decode(); assert r.status == 200, r.status
port = c.sock.getsockname()[1]
for i in range(n):
    c.request("GET", "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": tok})
    r = c.getresponse(); body = r.read().decode()
    assert r.status == 200 and c.sock is not None and c.sock.getsockname()[1] == port, (i, r.status)
print(body)
"""


# GETs on one connection for a while; every answer must be a 200 with the id.
LOOP = r"""
import http.client, sys, time
c = http.client.HTTPConnection("169.254.169.254", 80, timeout=5)
end, n = time.time() + float(sys.argv[1]), 0
while time.time() < end:
    c.request("GET", "/latest/meta-data/instance-id")
    r = c.getresponse(); body = r.read().decode()
    assert r.status == 200 and body == sys.argv[2], (n, r.status, body)
    n += 1
print(n)
"""


def daemon_pid(hostd_pid):
    """The hostd-imds child of hostd, or None."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        if comm == "hostd-imds" and ppid == hostd_pid:
            return int(p)
    return None


def wait_new_daemon(hostd_pid, old, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        p = daemon_pid(hostd_pid)
        if p and p != old:
            return p
        time.sleep(0.01)
    return None


def status_fields(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def curl(s, *args):
    body, _, code = s.run(CURL + list(args), check=False).stdout.rpartition("\n")
    return code, body


def token(s, ttl="60"):
    code, tok = curl(s, "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: " + ttl, MD + "/latest/api/token")
    assert code == "200", (code, tok)
    return tok


def read_stats(state_dir, iid):
    try:
        with open(os.path.join(state_dir, "instances", iid, "imds-stats")) as f:
            return dict(ln.strip().split("=", 1) for ln in f if "=" in ln)
    except FileNotFoundError:
        return {}


def launch(ec2, ami, n):
    r = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=n, MaxCount=n)
    iids = [i["InstanceId"] for i in r["Instances"]]
    guests.wait_state(ec2, iids, "running")
    return iids


def test_seccomp_selftest_kills_forbidden_calls():
    """Same privilege drop and filter as the server; each forbidden call
    ends the process with SIGSYS, an allowed one does not."""
    for what in ("openat-write", "openat-create", "socket", "execve", "ptrace"):
        p = subprocess.run([IMDS_BIN, "--seccomp-selftest", what], capture_output=True, text=True, timeout=10)
        assert p.returncode == -signal.SIGSYS, (what, p.returncode, p.stderr)
    p = subprocess.run([IMDS_BIN, "--seccomp-selftest", "allowed"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    assert not os.path.exists("/tmp/hostd-imds-selftest")


def test_server_dying_by_its_filter_is_restarted(state_dir):
    """The real server, started by hostd, calls socket() once sandboxed:
    the filter kills it (SIGSYS) and hostd starts the next one, again and
    again, at most twice a second, without hostd itself suffering."""
    h = Hostd(state_dir, config_text(), env=dict(os.environ, HOSTD_IMDS_SELFTEST="socket"))
    try:
        time.sleep(3)
        log = h.read_log()
        deaths = re.findall(r"(\d\d):(\d\d)\.(\d{3})Z error imds: hostd-imds \(pid \d+\) killed by signal 31 "
                             r"\(Bad system call\), a call its seccomp filter forbids: restarting", log)
        starts = [m for m in re.findall(r"(\d\d):(\d\d)\.(\d{3})Z info imds: hostd-imds started", log)]
        assert len(deaths) >= 3 and len(starts) >= len(deaths), log
        secs = [int(m) * 60 + int(s_) + int(ms) / 1000 for m, s_, ms in starts]
        gaps = [b - a for a, b in zip(secs, secs[1:])]
        assert all(0.4 <= g_ <= 1.0 for g_ in gaps), gaps
        assert h.proc.poll() is None
    finally:
        assert h.stop() == 0
        log = h.read_log()
        assert "runtime error" not in log and "AddressSanitizer" not in log, log


def test_daemon_serves_isolates_and_counts(env, ec2):
    from standin import Standin
    ami = guests.import_tiny(ec2)
    a, b = launch(ec2, ami, 2)
    hostd_pid = env.hostd.proc.pid
    db = env.hostd.db()
    try:
        pid = daemon_pid(hostd_pid)
        assert pid, "no hostd-imds child of hostd"
        st = status_fields(pid)
        assert st["Uid"] == ["64911"] * 4 and st["Gid"] == ["64911"] * 4, st
        assert st.get("Groups", []) == [] and st["NoNewPrivs"] == ["1"] and st["Seccomp"] == ["2"], st
        with Standin(ec2, db, a) as sa, Standin(ec2, db, b) as sb:
            # keep-alive: 300 requests on one connection, same daemon
            out = sa.python(KEEPALIVE, "300", check=False)
            assert out.returncode == 0 and out.stdout.strip() == a, out.stderr
            ta, tb = token(sa), token(sb)
            assert curl(sa, "-H", "X-aws-ec2-metadata-token: " + ta, MD + "/latest/meta-data/instance-id") == ("200", a)
            assert curl(sb, "-H", "X-aws-ec2-metadata-token: " + tb, MD + "/latest/meta-data/instance-id") == ("200", b)
            # isolation: B's token is nothing to A, and the other way round
            assert curl(sa, "-H", "X-aws-ec2-metadata-token: " + tb, MD + "/latest/meta-data/instance-id")[0] == "401"
            assert curl(sb, "-H", "X-aws-ec2-metadata-token: " + ta, MD + "/latest/meta-data/instance-id")[0] == "401"
            # whatever A asks, it sees its own addresses only
            code, ips = curl(sa, "-H", "X-aws-ec2-metadata-token: " + ta, MD + "/latest/meta-data/local-ipv4")
            bd = ec2.describe_instances(InstanceIds=[b])["Reservations"][0]["Instances"][0]
            assert code == "200" and ips != bd["PrivateIpAddress"]
            # the statuses of the token paths
            assert curl(sa, "-H", "X-aws-ec2-metadata-token: nonsense", MD + "/latest/meta-data/")[0] == "401"
            assert curl(sa, "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 0",
                        MD + "/latest/api/token")[0] == "400"
            assert curl(sa, "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", "-H",
                        "X-Forwarded-For: 10.9.9.9", MD + "/latest/api/token")[0] == "403"
            assert curl(sa, "-H", "X-aws-ec2-metadata-token: " + ta, MD + "/latest/meta-data/no-such-thing")[0] == "404"
            # counters: v1 requests (no token) are MetadataNoToken
            before = read_stats(env.hostd.state_dir, a)
            for _ in range(3):
                assert curl(sa, MD + "/latest/meta-data/instance-id") == ("200", a)
            deadline = time.time() + 5
            while time.time() < deadline:
                now = read_stats(env.hostd.state_dir, a)
                if int(now.get("metadata_no_token", 0)) >= int(before.get("metadata_no_token", 0)) + 3:
                    break
                time.sleep(0.2)
            assert int(now["metadata_no_token"]) >= int(before.get("metadata_no_token", 0)) + 3, (before, now)
            assert int(now["requests"]) >= 300 + 3 and abs(int(now["last_contact"]) - time.time()) < 30, now
            # B's requests are B's
            sb_stats = read_stats(env.hostd.state_dir, b)
            assert int(sb_stats.get("requests", 0)) < 300, sb_stats
            assert daemon_pid(hostd_pid) == pid, "hostd-imds was replaced while serving"
            # the tree is rewritten (CreateTags) under a steady stream of
            # requests: the new tree reaches the daemon before the old one
            # is removed, so not one request fails
            loop = subprocess.Popen(sa.argv(["/usr/bin/python3", "-c", LOOP, "4", a]), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            ec2.modify_instance_metadata_options(InstanceId=a, InstanceMetadataTags="enabled")
            time.sleep(0.5)
            for i in range(10):
                ec2.create_tags(Resources=[a], Tags=[{"Key": "k%d" % i, "Value": "v%d" % i}])
            out, err = loop.communicate(timeout=30)
            assert loop.returncode == 0 and int(out) > 100, err
            # and the last tree is the one served
            assert curl(sa, "-H", "X-aws-ec2-metadata-token: " + ta, MD + "/latest/meta-data/tags/instance/k9") == \
                ("200", "v9")
        # an address that is nobody's: the connection is closed, unanswered
        row = db.execute("SELECT s.cidr FROM enis e JOIN subnets s ON s.id = e.subnet_id WHERE e.instance_id = ?",
                         (a,)).fetchone()
        base = row[0].split("/")[0].rsplit(".", 1)[0]
        with Standin(ec2, db, a, ip=base + ".250") as stranger:
            p = stranger.run(CURL + [MD + "/latest/meta-data/instance-id"], check=False)
            assert p.returncode in (52, 56) and p.stdout.strip() in ("", "000"), (p.returncode, p.stdout)
        assert daemon_pid(hostd_pid) == pid
        assert "first metadata request" in env.hostd.read_log()
    finally:
        db.close()
        ec2.terminate_instances(InstanceIds=[a, b])
        guests.wait_state(ec2, [a, b], "terminated")


def test_daemon_restarted_after_kill_and_sigsys(env, ec2):
    from standin import Standin
    ami = guests.import_tiny(ec2)
    (a,) = launch(ec2, ami, 1)
    hostd_pid = env.hostd.proc.pid
    db = env.hostd.db()
    try:
        with Standin(ec2, db, a) as s:
            tok = token(s)
            for sig in (signal.SIGKILL, signal.SIGSYS):
                pid = daemon_pid(hostd_pid)
                t0 = time.time()
                os.kill(pid, sig)
                new = wait_new_daemon(hostd_pid, pid, 1.0)
                assert new, "no new hostd-imds within 1 s of %s" % sig.name
                # serving again: listeners and records were re-sent
                deadline = time.time() + 5
                while time.time() < deadline:
                    code, body = curl(s, "-H", "X-aws-ec2-metadata-token: " + tok, MD + "/latest/meta-data/instance-id")
                    if code == "200":
                        break
                    time.sleep(0.05)
                assert (code, body) == ("200", a)
                assert time.time() - t0 < 5
                assert status_fields(new)["Seccomp"] == ["2"]
        log = env.hostd.read_log()
        assert "killed by signal 9" in log
        assert "killed by signal 31" in log and "seccomp" in log
    finally:
        db.close()
        ec2.terminate_instances(InstanceIds=[a])
        guests.wait_state(ec2, [a], "terminated")


def test_daemon_token_ttl_is_the_hop_limit(env, ec2):
    """A client one router behind the stand-in (a container behind the
    guest, NATed to the guest's address): with HttpPutResponseHopLimit 1 its
    token never arrives while plain GETs do; with 2 it arrives. The limit
    comes with the rewritten tree, without a reboot."""
    from standin import Standin
    ami = guests.import_tiny(ec2)
    (a,) = launch(ec2, ami, 1)
    db = env.hostd.db()
    tag = "%05x" % (os.getpid() & 0xfffff)
    cns, rif, cif = "stc-" + tag, "stc%sr" % tag, "stc%sc" % tag
    try:
        with Standin(ec2, db, a) as r:
            sh = lambda *args: subprocess.run(list(args), check=True, capture_output=True)  # noqa: E731
            sh("ip", "netns", "add", cns)
            sh("ip", "-n", cns, "link", "set", "lo", "up")
            sh("ip", "link", "add", cif, "netns", cns, "type", "veth", "peer", rif, "netns", r.ns)
            sh("ip", "-n", r.ns, "addr", "add", "198.18.0.1/30", "dev", rif)
            sh("ip", "-n", r.ns, "link", "set", rif, "up")
            sh("ip", "-n", cns, "addr", "add", "198.18.0.2/30", "dev", cif)
            sh("ip", "-n", cns, "link", "set", cif, "up")
            sh("ip", "-n", cns, "route", "add", "default", "via", "198.18.0.1")
            sh("ip", "netns", "exec", r.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            sh("ip", "netns", "exec", r.ns, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "198.18.0.0/30",
               "-j", "MASQUERADE")

            def from_client(*args):
                p = subprocess.run(["ip", "netns", "exec", cns, "curl", "-s", "-m", "3", "-o", "-", "-w",
                                    "\\n%{http_code}"] + list(args), capture_output=True, text=True)
                return p.stdout.rpartition("\n")[2]

            put = ["-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", MD + "/latest/api/token"]
            ec2.modify_instance_metadata_options(InstanceId=a, HttpPutResponseHopLimit=1, HttpTokens="optional")
            assert from_client(MD + "/latest/meta-data/instance-id") == "200"
            assert from_client(*put) == "000"      # died one router out
            assert curl(r, *put)[0] == "200"       # the guest itself gets one
            ec2.modify_instance_metadata_options(InstanceId=a, HttpPutResponseHopLimit=2)
            assert from_client(*put) == "200"
    finally:
        subprocess.run(["ip", "netns", "del", cns], capture_output=True)
        db.close()
        ec2.terminate_instances(InstanceIds=[a])
        guests.wait_state(ec2, [a], "terminated")
