"""net/firewall with real namespaces and real traffic, no guests.

A "VPC" namespace holds two subnet bridges (br-a 10.9.1.0/24, br-b
10.9.2.0/24) and routes between them. Three "guest" namespaces each reach a
bridge through a veth pair whose VPC-side end, enslaved to the bridge, plays
the ENI's tap. build/bin/fw-apply loads JSON models into the VPC namespace;
python sockets and ping inside the guests prove what passes. Needs root; every
namespace is the test's own and is deleted at the end."""

import copy
import json
import os
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FW_APPLY = os.environ.get("FW_APPLY_BIN") or os.path.join(ROOT, "build", "bin", "fw-apply")
PY = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

TAG = "hfw%d" % (os.getpid() % 100000)
VPC = TAG + "v"
TCP_PORTS = (22, 80, 8080, 9000)
UDP_PORTS = (5000, 5001)

# guest name -> (subnet, ip, mac)
GUESTS = {
    "g1": ("subnet-0a", "10.9.1.10", "02:00:0a:09:01:0a"),
    "g2": ("subnet-0a", "10.9.1.11", "02:00:0a:09:01:0b"),
    "g3": ("subnet-0b", "10.9.2.10", "02:00:0a:09:02:0a"),
}
SUBNETS = {"subnet-0a": ("br-a", "10.9.1"), "subnet-0b": ("br-b", "10.9.2")}
ENI = {"g1": "eni-01", "g2": "eni-02", "g3": "eni-03"}

AGENT = r'''
import socket, sys, threading
mode = sys.argv[1]
if mode == "serve":
    def tcp(p):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((sys.argv[2], p)); s.listen(64)
        while True:
            c, _ = s.accept()
            threading.Thread(target=echo, args=(c,), daemon=True).start()
    def echo(c):
        try:
            while True:
                d = c.recv(4096)
                if not d: break
                c.sendall(d)
        except OSError: pass
        c.close()
    def udp(p):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[2], p))
        while True:
            d, a = s.recvfrom(4096); s.sendto(d, a)
    ts = [threading.Thread(target=tcp, args=(int(p),), daemon=True) for p in sys.argv[3].split(",") if p]
    ts += [threading.Thread(target=udp, args=(int(p),), daemon=True) for p in sys.argv[4].split(",") if p]
    for t in ts: t.start()
    print("ready", flush=True)
    sys.stdin.read()
elif mode == "tcp":
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=1.5)
    s.sendall(b"ping"); assert s.recv(4) == b"ping"
elif mode == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.5)
    s.sendto(b"ping", (sys.argv[2], int(sys.argv[3]))); assert s.recv(4) == b"ping"
elif mode == "dhcp":
    # what a DHCP client sends before it has an address: 0.0.0.0:68 -> 255.255.255.255:67
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
    s.bind(("0.0.0.0", int(sys.argv[2])))
    for _ in range(3):
        s.sendto(b"discover", ("255.255.255.255", int(sys.argv[3])))
elif mode == "recv":
    # the source of the first datagram to 0.0.0.0:PORT within the timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[3].encode())
    s.bind(("0.0.0.0", int(sys.argv[2]))); s.settimeout(float(sys.argv[4]))
    print("ready", flush=True)
    try:
        d, a = s.recvfrom(4096); print("%s:%d" % a, flush=True)
    except socket.timeout:
        print("none", flush=True)
elif mode == "arp":
    # one ARP request from eth0's MAC naming sender IP argv[2], asking for argv[3]
    import struct
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("eth0", 0))
    mac = s.getsockname()[4]
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, socket.inet_aton(sys.argv[2]),
                      b"\0" * 6, socket.inet_aton(sys.argv[3]))
    s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)
elif mode == "hold":
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=3)
    s.settimeout(3)
    print("connected", flush=True)
    for line in sys.stdin:
        try:
            s.sendall(line.encode()); print("echo " + s.recv(4096).decode().strip(), flush=True)
        except OSError as e:
            print("error %s" % e, flush=True)
'''


def sh(*argv, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise AssertionError("%s: %s" % (" ".join(argv), r.stderr.strip()))
    return r


def ns(name):
    return TAG + name


class Net:
    def __init__(self, tmp):
        self.tmp = tmp
        self.agent = os.path.join(tmp, "agent.py")
        with open(self.agent, "w") as f:
            f.write(AGENT)
        self.procs = []

    def run_in(self, guest, *argv, check=True):
        return sh("ip", "netns", "exec", ns(guest), *argv, check=check)

    def tcp(self, src, dst_ip, port):
        return self.run_in(src, PY, self.agent, "tcp", dst_ip, str(port), check=False).returncode == 0

    def udp(self, src, dst_ip, port):
        return self.run_in(src, PY, self.agent, "udp", dst_ip, str(port), check=False).returncode == 0

    def ping(self, src, dst_ip):
        return self.run_in(src, "ping", "-c", "1", "-W", "1", dst_ip, check=False).returncode == 0

    def serve(self, nsname, ip, tcp_ports, udp_ports):
        p = subprocess.Popen(["ip", "netns", "exec", nsname, PY, self.agent, "serve", ip,
                              ",".join(map(str, tcp_ports)), ",".join(map(str, udp_ports))],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        self.procs.append(p)

    def apply(self, model):
        path = os.path.join(self.tmp, "model.json")
        with open(path, "w") as f:
            json.dump(model, f)
        r = sh(FW_APPLY, path, check=False)
        assert r.returncode == 0, r.stderr
        return r


def ip_of(g):
    return GUESTS[g][1]


def base_model(groups, members, nacls=None, sdc=None):
    """groups: {sg id: (ingress rules, egress rules)}; members: {guest: [sg ids]};
    nacls: {subnet id: (nacl id, entries)}."""
    nacls = nacls or {}
    m = {"ns": VPC, "cidr": "10.9.0.0/16", "subnets": [], "groups": [], "enis": []}
    for sid, (br, pfx) in sorted(SUBNETS.items()):
        s = {"id": sid, "bridge": br, "cidr": pfx + ".0/24", "gateway": pfx + ".1"}
        if sid in nacls:
            s["nacl_id"], s["nacl"] = nacls[sid]
        m["subnets"].append(s)
    for gid, (ing, eg) in sorted(groups.items()):
        m["groups"].append({"id": gid, "ingress": ing, "egress": eg})
    for g, (sid, ip, mac) in sorted(GUESTS.items()):
        m["enis"].append({"id": ENI[g], "subnet_id": sid, "tap": ns(g) + "t", "mac": mac, "ips": [ip],
                          "group_ids": members.get(g, []),
                          "source_dest_check": (sdc or {}).get(g, True)})
    return m


ALL_OUT = [{"protocol": "-1", "cidr": "0.0.0.0/0"}]


def rule(proto, lo=None, hi=None, cidr=None, group=None):
    r = {"protocol": proto}
    if lo is not None:
        r["from_port"], r["to_port"] = lo, hi if hi is not None else lo
    if cidr:
        r["cidr"] = cidr
    if group:
        r["group_id"] = group
    return r


@pytest.fixture(scope="module")
def net():
    if not os.path.exists(FW_APPLY):
        pytest.skip("build/bin/fw-apply not built (make build/bin/fw-apply)")
    for tool in ("ipset", "ebtables", "iptables", "ping"):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin")):
            pytest.skip("%s missing (make deps)" % tool)
    tmp = tempfile.mkdtemp(prefix="fwns-")
    n = Net(tmp)
    made = []
    try:
        sh("ip", "netns", "add", VPC)
        made.append(VPC)
        v = ["ip", "netns", "exec", VPC]
        sh(*v, "ip", "link", "set", "lo", "up")
        sh(*v, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        for sid, (br, pfx) in SUBNETS.items():
            sh(*v, "ip", "link", "add", br, "type", "bridge")
            sh(*v, "ip", "addr", "add", pfx + ".1/24", "dev", br)
            sh(*v, "ip", "link", "set", br, "up")
        for g, (sid, ip, mac) in GUESTS.items():
            gns = ns(g)
            sh("ip", "netns", "add", gns)
            made.append(gns)
            tap = gns + "t"
            sh("ip", "link", "add", tap, "netns", VPC, "type", "veth", "peer", "name", "eth0", "netns", gns)
            sh(*v, "ip", "link", "set", tap, "master", SUBNETS[sid][0], "up")
            n.run_in(g, "ip", "link", "set", "lo", "up")
            n.run_in(g, "ip", "link", "set", "eth0", "address", mac, "up")
            n.run_in(g, "ip", "addr", "add", ip + "/24", "dev", "eth0")
            n.run_in(g, "ip", "route", "add", "default", "via", SUBNETS[sid][1] + ".1")
            n.serve(gns, "0.0.0.0", TCP_PORTS, UDP_PORTS)
        # the namespace's own DNS (allowed) and another UDP port (not)
        n.serve(VPC, "10.9.1.1", (), (53, 5353))
        # the metadata service, terminated in the namespace
        sh(*v, "ip", "addr", "add", "169.254.169.254/32", "dev", "lo")
        n.serve(VPC, "0.0.0.0", (80,), ())
        yield n
    finally:
        for p in n.procs:
            p.kill()
            p.wait()
        for name in reversed(made):
            subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", tmp])


def test_allowed_port_connects_closed_does_not(net):
    net.apply(base_model({"sg-0a": ([rule("tcp", 80, cidr="10.9.0.0/16")], ALL_OUT),
                          "sg-0c": ([], ALL_OUT)},
                         {"g1": ["sg-0c"], "g2": ["sg-0a"], "g3": ["sg-0c"]}))
    assert net.tcp("g1", ip_of("g2"), 80)
    assert not net.tcp("g1", ip_of("g2"), 8080)
    assert not net.tcp("g2", ip_of("g1"), 80)       # g1 allows no ingress
    assert net.tcp("g3", ip_of("g2"), 80)           # routed from the other subnet
    assert not net.udp("g1", ip_of("g2"), 5000)


def test_port_ranges_udp_and_all(net):
    net.apply(base_model({"sg-0a": ([rule("tcp", 8000, 9000, cidr="10.9.1.0/24"),
                                     rule("udp", 5000, cidr="10.9.1.10/32")], ALL_OUT),
                          "sg-0b": ([rule("-1", cidr="10.9.1.11/32")], ALL_OUT)},
                         {"g1": ["sg-0b"], "g2": ["sg-0a"], "g3": ["sg-0a"]}))
    assert net.tcp("g1", ip_of("g2"), 8080) and net.tcp("g1", ip_of("g2"), 9000)
    assert not net.tcp("g1", ip_of("g2"), 80)
    assert net.udp("g1", ip_of("g2"), 5000)
    assert not net.udp("g1", ip_of("g2"), 5001)
    assert net.tcp("g1", ip_of("g3"), 8080)         # routed, from 10.9.1.0/24
    assert not net.tcp("g3", ip_of("g2"), 8080)     # from 10.9.2.0/24: no
    assert not net.udp("g3", ip_of("g2"), 5000)     # 10.9.1.10/32 only


def test_all_protocols_rule(net):
    net.apply(base_model({"sg-0b": ([rule("-1", cidr="10.9.1.11/32")], ALL_OUT)},
                         {"g1": ["sg-0b"], "g2": ["sg-0b"], "g3": ["sg-0b"]}))
    assert net.tcp("g2", ip_of("g1"), 22) and net.udp("g2", ip_of("g1"), 5001)
    assert net.ping("g2", ip_of("g1"))
    assert not net.tcp("g3", ip_of("g1"), 22)


def test_icmp_rule(net):
    echo = rule("icmp", 8, -1, cidr="10.9.0.0/16")
    net.apply(base_model({"sg-0a": ([echo], ALL_OUT)}, {"g1": ["sg-0a"], "g2": ["sg-0a"], "g3": ["sg-0a"]}))
    assert net.ping("g1", ip_of("g2"))
    assert net.ping("g3", ip_of("g2"))
    assert not net.tcp("g1", ip_of("g2"), 22)
    # type 8 code 1 only: an echo request (code 0) no longer passes
    net.apply(base_model({"sg-0a": ([rule("icmp", 8, 1, cidr="10.9.0.0/16")], ALL_OUT)},
                         {"g1": ["sg-0a"], "g2": ["sg-0a"], "g3": ["sg-0a"]}))
    assert not net.ping("g1", ip_of("g2"))


def test_group_reference_and_live_membership(net):
    groups = {"sg-05": ([rule("tcp", 9000, group="sg-0c")], ALL_OUT),   # the server group
              "sg-0c": ([], ALL_OUT),                                  # its clients
              "sg-0d": ([], ALL_OUT)}
    net.apply(base_model(groups, {"g1": ["sg-0c"], "g2": ["sg-05"], "g3": ["sg-0d"]}))
    assert net.tcp("g1", ip_of("g2"), 9000)
    assert not net.tcp("g3", ip_of("g2"), 9000)
    assert not net.tcp("g1", ip_of("g2"), 80)
    # g3 joins the client group: it gets in, with no rule changed
    net.apply(base_model(groups, {"g1": ["sg-0c"], "g2": ["sg-05"], "g3": ["sg-0d", "sg-0c"]}))
    assert net.tcp("g3", ip_of("g2"), 9000)
    # g1 leaves it: it no longer does
    net.apply(base_model(groups, {"g1": ["sg-0d"], "g2": ["sg-05"], "g3": ["sg-0d", "sg-0c"]}))
    assert not net.tcp("g1", ip_of("g2"), 9000)
    assert net.tcp("g3", ip_of("g2"), 9000)


def test_default_group_self_reference(net):
    default = {"sg-0f": ([rule("-1", group="sg-0f")], ALL_OUT), "sg-0e": ([], ALL_OUT)}
    net.apply(base_model(default, {"g1": ["sg-0f"], "g2": ["sg-0f"], "g3": ["sg-0e"]}))
    assert net.tcp("g1", ip_of("g2"), 22) and net.tcp("g2", ip_of("g1"), 22)
    assert net.ping("g2", ip_of("g1"))
    assert not net.tcp("g3", ip_of("g1"), 22)


def test_egress_restriction(net):
    groups = {"sg-01": ([], [rule("tcp", 80, cidr="10.9.1.11/32")]),
              "sg-0a": ([rule("-1", cidr="10.9.0.0/16")], ALL_OUT)}
    net.apply(base_model(groups, {"g1": ["sg-01"], "g2": ["sg-0a"], "g3": ["sg-0a"]}))
    assert net.tcp("g1", ip_of("g2"), 80)
    assert not net.tcp("g1", ip_of("g2"), 8080)     # g2 would take it; g1 may not send it
    assert not net.ping("g1", ip_of("g2"))
    assert not net.tcp("g1", ip_of("g3"), 80)
    assert net.tcp("g2", ip_of("g3"), 80)


def test_revoke_keeps_open_connection(net):
    allow = {"sg-0a": ([rule("tcp", 9000, cidr="10.9.1.0/24")], ALL_OUT)}
    members = {"g1": ["sg-0a"], "g2": ["sg-0a"], "g3": ["sg-0a"]}
    net.apply(base_model(allow, members))
    hold = subprocess.Popen(["ip", "netns", "exec", ns("g1"), PY, net.agent, "hold", ip_of("g2"), "9000"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert hold.stdout.readline().strip() == "connected"
        hold.stdin.write("one\n")
        hold.stdin.flush()
        assert hold.stdout.readline().strip() == "echo one"
        net.apply(base_model({"sg-0a": ([], ALL_OUT)}, members))     # revoked
        assert not net.tcp("g1", ip_of("g2"), 9000)                  # new ones blocked
        hold.stdin.write("two\n")
        hold.stdin.flush()
        assert hold.stdout.readline().strip() == "echo two"          # the open one lives
    finally:
        hold.kill()
        hold.wait()


def test_spoofed_ip_or_mac_reaches_nothing(net):
    allow = {"sg-0a": ([rule("-1", cidr="10.9.0.0/16")], ALL_OUT)}
    members = {"g1": ["sg-0a"], "g2": ["sg-0a"], "g3": ["sg-0a"]}
    net.apply(base_model(allow, members))
    assert net.tcp("g1", ip_of("g2"), 22) and net.ping("g1", ip_of("g2"))
    # another IP of the subnet (not g1's)
    net.run_in("g1", "ip", "addr", "flush", "dev", "eth0")
    net.run_in("g1", "ip", "addr", "add", "10.9.1.50/24", "dev", "eth0")
    net.run_in("g1", "ip", "route", "add", "default", "via", "10.9.1.1")
    try:
        assert not net.tcp("g1", ip_of("g2"), 22)
        assert not net.ping("g1", ip_of("g2"))
        assert not net.ping("g1", ip_of("g3"))
        assert not net.udp("g1", "10.9.1.1", 53)
    finally:
        net.run_in("g1", "ip", "addr", "flush", "dev", "eth0")
        net.run_in("g1", "ip", "addr", "add", ip_of("g1") + "/24", "dev", "eth0")
        net.run_in("g1", "ip", "route", "add", "default", "via", "10.9.1.1")
    assert net.tcp("g1", ip_of("g2"), 22)
    # another MAC, the right IP (neighbours forget the old one)
    net.run_in("g1", "ip", "link", "set", "eth0", "address", "02:00:0a:09:01:99")
    net.run_in("g2", "ip", "neigh", "flush", "dev", "eth0")
    try:
        assert not net.tcp("g1", ip_of("g2"), 22)
        assert not net.ping("g1", ip_of("g3"))
        assert not net.udp("g1", "10.9.1.1", 53)
    finally:
        net.run_in("g1", "ip", "link", "set", "eth0", "address", GUESTS["g1"][2])
        net.run_in("g2", "ip", "neigh", "flush", "dev", "eth0")
    assert net.tcp("g1", ip_of("g2"), 22)


def test_nacl_deny_overrides_group_allow(net):
    allow = {"sg-0a": ([rule("-1", cidr="10.9.0.0/16")], ALL_OUT)}
    members = {"g1": ["sg-0a"], "g2": ["sg-0a"], "g3": ["sg-0a"]}
    entries = [
        {"rule_number": 90, "protocol": "tcp", "allow": False, "cidr": "10.9.1.0/24", "from_port": 80, "to_port": 80},
        {"rule_number": 100, "protocol": "-1", "allow": True, "cidr": "0.0.0.0/0"},
        {"rule_number": 100, "egress": True, "protocol": "-1", "allow": True, "cidr": "0.0.0.0/0"},
    ]
    net.apply(base_model(allow, members, nacls={"subnet-0b": ("acl-0b", entries)}))
    assert not net.tcp("g1", ip_of("g3"), 80)     # denied entering subnet b
    assert net.tcp("g1", ip_of("g3"), 8080)       # allowed by 100
    assert net.tcp("g1", ip_of("g2"), 80)         # within subnet a: no NACL crossed
    # stateless: without an egress entry, subnet b's replies are dropped
    net.apply(base_model(allow, members, nacls={"subnet-0b": ("acl-0b", entries[:2])}))
    assert not net.tcp("g1", ip_of("g3"), 8080)
    # a NACL with no entries denies everything crossing, the subnet itself works
    net.apply(base_model(allow, members, nacls={"subnet-0a": ("acl-0a", [])}))
    assert not net.tcp("g3", ip_of("g1"), 22)
    assert net.tcp("g2", ip_of("g1"), 22)


def test_namespace_services_always_allowed(net):
    # no group allows anything: DNS to the namespace still answers, other ports not
    net.apply(base_model({"sg-0e": ([], [])}, {"g1": ["sg-0e"], "g2": ["sg-0e"], "g3": ["sg-0e"]}))
    assert net.udp("g1", "10.9.1.1", 53)
    assert not net.udp("g1", "10.9.1.1", 5353)
    assert net.tcp("g1", "169.254.169.254", 80)
    assert net.tcp("g3", "169.254.169.254", 80)
    assert not net.tcp("g1", "10.9.1.1", 80)        # the same server, not as metadata
    assert not net.tcp("g1", ip_of("g2"), 22)


def vpc_neigh(ip, br="br-a"):
    return sh("ip", "netns", "exec", VPC, "ip", "neigh", "show", ip, "dev", br).stdout


def test_dhcp_from_unnumbered_client(net):
    net.apply(base_model({"sg-0e": ([], [])}, {"g1": ["sg-0e"], "g2": ["sg-0e"], "g3": ["sg-0e"]}))

    def discover(src_port, dst_port):
        srv = subprocess.Popen(["ip", "netns", "exec", VPC, PY, net.agent, "recv", str(dst_port), "br-a", "2"],
                               stdout=subprocess.PIPE, text=True)
        try:
            assert srv.stdout.readline().strip() == "ready"
            net.run_in("g1", PY, net.agent, "dhcp", str(src_port), str(dst_port))
            return srv.stdout.readline().strip()
        finally:
            srv.kill()
            srv.wait()

    net.run_in("g1", "ip", "addr", "flush", "dev", "eth0")
    try:
        assert discover(68, 67) == "0.0.0.0:68"
        assert discover(68, 5000) == "none"    # 0.0.0.0 is for DHCP only
        assert discover(6000, 67) == "none"
    finally:
        net.run_in("g1", "ip", "addr", "add", ip_of("g1") + "/24", "dev", "eth0")
        net.run_in("g1", "ip", "route", "add", "default", "via", "10.9.1.1")


def test_arp_spoofing_dropped(net):
    net.apply(base_model({"sg-0e": ([], ALL_OUT)}, {"g1": ["sg-0e"], "g2": ["sg-0e"], "g3": ["sg-0e"]}))
    v = ["ip", "netns", "exec", VPC]
    sh(*v, "ip", "neigh", "flush", "dev", "br-a")
    # an ARP request naming g1's own IP teaches the router g1's MAC...
    net.run_in("g1", PY, net.agent, "arp", ip_of("g1"), "10.9.1.1")
    # ...one naming g2's IP (or an unassigned one) teaches it nothing
    net.run_in("g1", PY, net.agent, "arp", ip_of("g2"), "10.9.1.1")
    net.run_in("g1", PY, net.agent, "arp", "10.9.1.77", "10.9.1.1")
    time.sleep(0.3)
    assert GUESTS["g1"][2] in vpc_neigh(ip_of("g1"))
    assert GUESTS["g1"][2] not in vpc_neigh(ip_of("g2"))
    assert vpc_neigh("10.9.1.77").strip() == ""


def snapshot():
    v = ["ip", "netns", "exec", VPC]
    ipt = [l for l in sh(*v, "iptables-save", "-t", "filter").stdout.splitlines() if not l.startswith("#")]
    eb = [l for l in sh(*v, "ebtables-save", "-t", "filter").stdout.splitlines() if not l.startswith("#")]
    sets = {}
    for name in sh(*v, "ipset", "list", "-n").stdout.split():
        out = sh(*v, "ipset", "list", name).stdout
        sets[name] = sorted(out.split("Members:\n", 1)[1].split())
    return ipt, eb, sets


def test_apply_twice_is_a_noop(net):
    m = base_model({"sg-05": ([rule("tcp", 9000, group="sg-0c")], ALL_OUT), "sg-0c": ([], ALL_OUT)},
                   {"g1": ["sg-0c"], "g2": ["sg-05"], "g3": ["sg-0c"]},
                   nacls={"subnet-0b": ("acl-0b", [{"rule_number": 100, "protocol": "-1", "allow": True,
                                                    "cidr": "0.0.0.0/0"}])})
    net.apply(m)
    first = snapshot()
    net.apply(copy.deepcopy(m))
    assert snapshot() == first
    ipt, eb, sets = first
    assert ipt.count("-A FORWARD -j hd-fwd") == 1 and eb.count("-A FORWARD -j hd-eb-fwd") == 1
    assert sets == {"hd-05": [], "hd-0c": ["10.9.1.10", "10.9.2.10"]} or \
        sets == {"hd-05": ["10.9.1.11"], "hd-0c": ["10.9.1.10", "10.9.2.10"]}


def test_removed_objects_leave_nothing(net):
    net.apply(base_model({"sg-0a": ([rule("-1", group="sg-0a")], ALL_OUT)},
                         {"g1": ["sg-0a"], "g2": ["sg-0a"], "g3": ["sg-0a"]},
                         nacls={"subnet-0b": ("acl-0b", [])}))
    m = {"ns": VPC, "cidr": "10.9.0.0/16", "subnets": [], "groups": [], "enis": []}
    net.apply(m)
    ipt, eb, sets = snapshot()
    assert [l for l in ipt if l.startswith(":hd-")] == [":hd-fwd - [0:0]", ":hd-in - [0:0]"]
    assert [l for l in eb if l.startswith(":hd-")] == [":hd-eb-fwd RETURN", ":hd-eb-in RETURN"]
    assert sets == {}


def test_bad_model_is_refused(net):
    m = base_model({"sg-0a": ([rule("tcp", 70000, cidr="10.9.0.0/16")], ALL_OUT)}, {"g1": ["sg-0a"]})
    path = os.path.join(net.tmp, "bad.json")
    with open(path, "w") as f:
        json.dump(m, f)
    r = sh(FW_APPLY, path, check=False)
    assert r.returncode == 1 and "Invalid argument" in r.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
