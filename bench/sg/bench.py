"""bench/sg: security groups at scale, in namespaces the benchmark makes.

1. Apply time of one group change (one rule's port changed, the whole VPC
   reloaded by net/firewall through build/bin/fw-apply) with 10 vs 1000
   rules on the ENIs. Goal: ratio at most 2.
2. TCP throughput (iperf3, 5 s) between two endpoints on one subnet bridge:
   a bridge with no firewall at all (the peer: a plain Linux bridge) vs the
   same with 1000 rules on both ENIs. Goal: at least 0.9x. The two setups
   live in two VPC namespaces side by side and take turns, so machine noise
   hits both alike.

Needs root; deletes every namespace it made."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FW_APPLY = os.path.join(ROOT, "build", "bin", "fw-apply")
TAG = "hbs%d" % (os.getpid() % 10000)


def sh(*argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), r.stderr.strip()))
    return r


class Vpc:
    """A VPC namespace with one bridge and two endpoint namespaces on it."""

    def __init__(self, name):
        self.ns = TAG + name
        self.made = [self.ns]
        sh("ip", "netns", "add", self.ns)
        v = self.v = ["ip", "netns", "exec", self.ns]
        sh(*v, "ip", "link", "set", "lo", "up")
        sh(*v, "ip", "link", "add", "br-a", "type", "bridge")
        sh(*v, "ip", "addr", "add", "10.9.1.1/24", "dev", "br-a")
        sh(*v, "ip", "link", "set", "br-a", "up")
        self.ends = {}
        for i, (ip, mac) in enumerate((("10.9.1.10", "02:00:0a:09:01:0a"), ("10.9.1.11", "02:00:0a:09:01:0b"))):
            g = "%s%d" % (self.ns, i)
            tap = g + "t"
            sh("ip", "netns", "add", g)
            self.made.append(g)
            sh("ip", "link", "add", tap, "netns", self.ns, "type", "veth", "peer", "name", "eth0", "netns", g)
            sh(*v, "ip", "link", "set", tap, "master", "br-a", "up")
            sh("ip", "netns", "exec", g, "ip", "link", "set", "lo", "up")
            sh("ip", "netns", "exec", g, "ip", "link", "set", "eth0", "address", mac, "up")
            sh("ip", "netns", "exec", g, "ip", "addr", "add", ip + "/24", "dev", "eth0")
            self.ends[g] = (tap, ip, mac)

    def model(self, nrules, port_shift=0):
        """nrules rules over groups of 100, both ENIs in every group; the
        rule admitting iperf3 (tcp 5201 from the subnet) comes last."""
        groups, ids = [], []
        per = 100
        ngroups = max(1, (nrules + per - 1) // per)
        left = nrules
        for gi in range(ngroups):
            gid = "sg-%x" % (0x100 + gi)
            ids.append(gid)
            ing = []
            for k in range(min(per, left)):
                n = nrules - left + k
                ing.append({"protocol": "tcp", "from_port": 10000 + (n + port_shift) % 50000,
                            "to_port": 10000 + (n + port_shift) % 50000,
                            "cidr": "10.%d.%d.%d/32" % (100 + n // 65536, (n // 256) % 256, n % 256)})
            left -= len(ing)
            groups.append({"id": gid, "ingress": ing, "egress": [{"protocol": "-1", "cidr": "0.0.0.0/0"}]})
        if nrules:
            groups[-1]["ingress"][-1] = {"protocol": "tcp", "from_port": 5201, "to_port": 5201, "cidr": "10.9.1.0/24"}
        enis = [{"id": "eni-%x" % (0x10 + i), "subnet_id": "subnet-0a", "tap": tap, "mac": mac, "ips": [ip],
                 "group_ids": ids} for i, (g, (tap, ip, mac)) in enumerate(sorted(self.ends.items()))]
        return {"ns": self.ns, "cidr": "10.9.0.0/16",
                "subnets": [{"id": "subnet-0a", "bridge": "br-a", "cidr": "10.9.1.0/24", "gateway": "10.9.1.1"}],
                "groups": groups, "enis": enis}

    def apply(self, model, tmp):
        path = os.path.join(tmp, self.ns + ".json")
        with open(path, "w") as f:
            json.dump(model, f)
        t0 = time.monotonic()
        sh(FW_APPLY, path)
        return time.monotonic() - t0

    def iperf(self, seconds):
        (g0, _), (g1, (_, ip1, _)) = sorted(self.ends.items())
        srv = subprocess.Popen(["ip", "netns", "exec", g1, "iperf3", "-s", "-1", "-B", ip1],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(50):
                if sh("ip", "netns", "exec", g1, "ss", "-ltn", check=False).stdout.find(":5201") >= 0:
                    break
                time.sleep(0.1)
            r = sh("ip", "netns", "exec", g0, "iperf3", "-c", ip1, "-t", str(seconds), "-J", timeout=seconds + 30)
            return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"]
        finally:
            srv.kill()
            srv.wait()

    def destroy(self):
        for n in reversed(self.made):
            subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--changes", type=int, default=7, help="timed applies per rule count")
    ap.add_argument("--rounds", type=int, default=3, help="iperf3 runs per setup")
    ap.add_argument("--seconds", type=int, default=5)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/sg needs root (network namespaces)")
    if not os.path.exists(FW_APPLY):
        sys.exit("build/bin/fw-apply missing (make build/bin/fw-apply)")
    tmp = tempfile.mkdtemp(prefix="bench-sg-")
    vpcs = []
    try:
        bare, fw = Vpc("b"), Vpc("f")
        vpcs += [bare, fw]
        # 1. a group change with 10 vs 1000 rules, interleaved
        times = {10: [], 1000: []}
        fw.apply(fw.model(10), tmp)
        for i in range(a.changes):
            for n in (10, 1000):
                fw.apply(fw.model(n, port_shift=0), tmp)  # the state before the change
                times[n].append(fw.apply(fw.model(n, port_shift=i + 1), tmp))
        m10, m1000 = statistics.median(times[10]), statistics.median(times[1000])
        # 2. throughput: a plain bridge vs 1000 rules on both ENIs
        fw.apply(fw.model(1000), tmp)
        tput = {"bare": [], "1000": []}
        for i in range(a.rounds):
            order = [("bare", bare), ("1000", fw)] if i % 2 == 0 else [("1000", fw), ("bare", bare)]
            for k, v in order:
                tput[k].append(v.iperf(a.seconds))
        tb, tf = statistics.median(tput["bare"]), statistics.median(tput["1000"])
    finally:
        for v in vpcs:
            v.destroy()
        subprocess.run(["rm", "-rf", tmp])
    res = {
        "apply_change_s": {"10_rules": [round(x, 4) for x in times[10]],
                           "1000_rules": [round(x, 4) for x in times[1000]]},
        "apply_median_s": {"10_rules": round(m10, 4), "1000_rules": round(m1000, 4)},
        "apply_ratio_1000_over_10": round(m1000 / m10, 3),
        "tcp_gbit_s": {"bare_bridge": [round(x / 1e9, 3) for x in tput["bare"]],
                       "1000_rules": [round(x / 1e9, 3) for x in tput["1000"]]},
        "tcp_ratio_1000_over_bare": round(tf / tb, 3),
    }
    print(json.dumps(res, indent=2))
    r1 = m1000 / m10
    print("group change applied: 10 rules %.1f ms, 1000 rules %.1f ms, ratio %.2f (goal <= 2): %s"
          % (m10 * 1000, m1000 * 1000, r1, "PASS" if r1 <= 2 else "MISS"))
    r2 = tf / tb
    print("TCP on the subnet bridge: bare %.2f Gbit/s, 1000 rules %.2f Gbit/s, ratio %.3f (goal >= 0.9): %s"
          % (tb / 1e9, tf / 1e9, r2, "PASS" if r2 >= 0.9 else "MISS"))


if __name__ == "__main__":
    main()
