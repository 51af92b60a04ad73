"""bench/imds: GET /latest/meta-data/instance-id with a valid IMDSv2 token,
keep-alive, driven by wrk from a guest stand-in (tests/integration/
standin.py: a namespace on the instance's subnet bridge with one of its
addresses, attributed to it as the guest is), against nginx serving the
same bytes to the same client in the same run.

hostd runs one tiny-AMI instance; hostd-imds answers through the VPC
router. nginx (worker_processes 1, its own temporary config, no system
service) runs in a second namespace on the same subnet bridge, so both
paths cross the same bridge from the same wrk. The runs alternate (which
goes first swaps every round) and medians are reported, since the machine
is shared and noisy. A last, longer run shows the rate one instance
sustains."""
import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
import botocore.config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from standin import Standin  # noqa: E402

ACCT = ("111111111111", "AKIAAAAAAAAAAAAAAAAA", "benchsecret" + "x" * 29)
PATH = "/latest/meta-data/instance-id"
NGINX_CONF = """worker_processes 1;
daemon off;
user root;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60;
    default_type text/plain;
    server {{
        listen {ip}:8080;
        root {work}/www;
    }}
}}
"""


class Hostd:
    def __init__(self, binary, work):
        self.state = os.path.join(work, "state")
        conf = os.path.join(work, "hostd.conf")
        with open(conf, "w") as f:
            f.write("[host]\nstop_timeout_s = 5\n[throttle]\ndescribe_rate = 1000\ndescribe_burst = 1000\n"
                    "[account %s]\naccess_key = %s\nsecret_key = %s\n" % ACCT)
        self.log = os.path.join(work, "hostd.log")
        self.p = subprocess.Popen([binary, "--state-dir", self.state, "--config", conf, "--listen", "127.0.0.1:0"],
                                  stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        port = None
        for _ in range(1500):
            m = re.search(rb"\(port (\d+)\)", open(self.log, "rb").read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.01)
        if not port:
            raise RuntimeError(open(self.log).read())
        self.ec2 = boto3.client("ec2", endpoint_url="http://127.0.0.1:%d" % port, region_name="us-east-1",
                                aws_access_key_id=ACCT[1], aws_secret_access_key=ACCT[2],
                                config=botocore.config.Config(retries={"total_max_attempts": 1}))

    def db(self):
        return sqlite3.connect(os.path.join(self.state, "state.db"), timeout=10)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(30)


def wait_state(ec2, iids, state, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = ec2.describe_instances(InstanceIds=iids)
        if all(i["State"]["Name"] == state for res in r["Reservations"] for i in res["Instances"]):
            return
        time.sleep(0.1)
    raise RuntimeError("not %s" % state)


def import_ami(ec2, path):
    t = ec2.import_image(DiskContainers=[{"Format": "qcow2", "Url": "file://" + path}])
    while True:
        d = ec2.describe_import_image_tasks(ImportTaskIds=[t["ImportTaskId"]])["ImportImageTasks"][0]
        if d["Status"] == "completed":
            return d["ImageId"]
        if d["Status"] != "active":
            raise RuntimeError(d)
        time.sleep(0.05)


def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(client, url, tok, secs, conns, gap_ms=None):
    extra, env = [], None
    if gap_ms is not None:
        extra = ["-s", os.path.join(ROOT, "bench", "imds", "paced.lua")]
        env = dict(os.environ, GAP_MS=str(gap_ms))
    out = client.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % secs, "--latency", "-H",
                      "X-aws-ec2-metadata-token: " + tok] + extra + [url], env=env).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    if errs or sock:
        raise RuntimeError("wrk saw errors against %s:\n%s" % (url, out))
    return {"rps": rps, "p50_ms": lat["50"], "p99_ms": lat["99"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hostd", required=True)
    ap.add_argument("--ami", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--paced-connections", type=int, default=5,
                    help="connections of the paced runs, each waiting --gap-ms before every request")
    ap.add_argument("--gap-ms", type=int, default=4)
    ap.add_argument("--sustain", type=int, default=15, help="seconds of the last, single-instance run")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="hostd-bench-imds-")
    os.chmod(work, 0o755)  # nginx's worker reads www/ beneath it
    h = Hostd(a.hostd, work)
    nginx = client = peer = db = None
    fwd = []
    iid = None
    try:
        ami = import_ami(h.ec2, a.ami)
        iid = h.ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1,
                                  MaxCount=1)["Instances"][0]["InstanceId"]
        wait_state(h.ec2, [iid], "running")
        db = h.db()
        client = Standin(h.ec2, db, iid)
        # nginx's namespace: an address on the same subnet that is nobody's
        base = client.ip.rsplit(".", 1)[0]
        peer = Standin(h.ec2, db, iid, ip=base + ".250")
        # hostd's firewall drops whatever is bridged into a subnet but
        # to an ENI's tap; these two ports are the bench's own: let them
        # talk (first in FORWARD; removed again below)
        cport, pport = "sti%so" % client.ns[4:], "sti%so" % peer.ns[4:]
        fwd = [["-m", "physdev", "--physdev-in", x, "--physdev-out", y, "-j", "ACCEPT"]
               for x, y in ((cport, pport), (pport, cport))]
        for rule in fwd:
            subprocess.run(["ip", "netns", "exec", client.vpc_ns, "iptables", "-I", "FORWARD", "1"] + rule,
                           check=True)
        os.makedirs(os.path.join(work, "www", "latest", "meta-data"))
        with open(os.path.join(work, "www", "latest", "meta-data", "instance-id"), "w") as f:
            f.write(iid)
        with open(os.path.join(work, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(work=work, ip=peer.ip))
        nginx = subprocess.Popen(peer.argv(["nginx", "-c", os.path.join(work, "nginx.conf"), "-p", work]),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tok = client.run(["curl", "-sf", "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 21600",
                          "http://169.254.169.254/latest/api/token"]).stdout
        urls = {"imds": "http://169.254.169.254" + PATH, "nginx": "http://%s:8080%s" % (peer.ip, PATH)}
        for name, url in urls.items():
            deadline = time.time() + 10
            while True:
                body = client.run(["curl", "-s", "-m", "2", "-H", "X-aws-ec2-metadata-token: " + tok, url],
                                  check=False).stdout
                if body == iid:
                    break
                if time.time() > deadline:
                    log = open(os.path.join(work, "nginx-error.log")).read() if name == "nginx" else ""
                    raise RuntimeError("%s does not serve the instance id: %r %s" % (name, body, log))
                time.sleep(0.1)
        # warm-up of both paths (ARP, conntrack, caches)
        for url in urls.values():
            wrk(client, url, tok, 1, a.connections)
        res = {"imds": [], "nginx": []}
        paced = {"imds": [], "nginx": []}
        for r in range(a.rounds):
            order = ("imds", "nginx") if r % 2 == 0 else ("nginx", "imds")
            for name in order:
                res[name].append(wrk(client, urls[name], tok, a.seconds, a.connections))
            for name in order:
                paced[name].append(wrk(client, urls[name], tok, a.seconds, a.paced_connections, a.gap_ms))
        sustain = wrk(client, urls["imds"], tok, a.sustain, a.connections)
        with open(os.path.join(h.state, "instances", iid, "imds-stats")) as f:
            stats = f.read()
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait(10)
        for rule in fwd:
            subprocess.run(["ip", "netns", "exec", client.vpc_ns, "iptables", "-D", "FORWARD"] + rule,
                           check=False)
        for s in (client, peer):
            if s:
                s.close()
        if db:
            db.close()
        if iid:
            h.ec2.terminate_instances(InstanceIds=[iid])
            wait_state(h.ec2, [iid], "terminated")
        h.stop()
        shutil.rmtree(work, ignore_errors=True)
    med = {n: {k: statistics.median(x[k] for x in res[n]) for k in ("rps", "p50_ms", "p99_ms")} for n in res}
    pmed = {n: {k: statistics.median(x[k] for x in paced[n]) for k in ("rps", "p50_ms", "p99_ms")} for n in paced}
    paired = statistics.median(i["rps"] / n["rps"] for i, n in zip(res["imds"], res["nginx"]))
    out = {
        "rounds": a.rounds, "seconds": a.seconds, "connections": a.connections,
        "imds": res["imds"], "nginx": res["nginx"], "median": med,
        "median_paired_ratio": round(paired, 3), "sustained_one_instance": sustain,
        "paced_connections": a.paced_connections, "gap_ms": a.gap_ms, "paced": paced, "paced_median": pmed,
    }
    print(json.dumps(out, indent=2))
    print("imds-stats after the run:\n" + stats)
    print("requests/s: hostd-imds %.0f, nginx %.0f, median of paired ratios %.3f (goal >= 0.5): %s"
          % (med["imds"]["rps"], med["nginx"]["rps"], paired, "PASS" if paired >= 0.5 else "MISS"))
    print("saturated (%d connections): hostd-imds p50 %.2f ms, p99 %.2f ms; nginx p50 %.2f ms, p99 %.2f ms"
          % (a.connections, med["imds"]["p50_ms"], med["imds"]["p99_ms"], med["nginx"]["p50_ms"],
             med["nginx"]["p99_ms"]))
    print("paced (%d connections, %d ms between requests: hostd-imds %.0f req/s, nginx %.0f req/s): hostd-imds "
          "p50 %.2f ms, p99 %.2f ms (goal p99 < 5 ms): %s; nginx p50 %.2f ms, p99 %.2f ms"
          % (a.paced_connections, a.gap_ms, pmed["imds"]["rps"], pmed["nginx"]["rps"], pmed["imds"]["p50_ms"],
             pmed["imds"]["p99_ms"], "PASS" if pmed["imds"]["p99_ms"] < 5 else "MISS", pmed["nginx"]["p50_ms"],
             pmed["nginx"]["p99_ms"]))
    print("one instance for %d s: %.0f requests/s (goal >= 1024): %s"
          % (a.sustain, sustain["rps"], "PASS" if sustain["rps"] >= 1024 else "MISS"))


if __name__ == "__main__":
    sys.exit(main())
