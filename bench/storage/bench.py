"""bench/storage: what snapshots cost on hostd's qcow2 chains.

1. CreateSnapshot latency (the API call, as a client sees it) on a volume
   at chain depth 1 vs 64 (flattening off), and on a 1 GiB vs a 100 GiB
   sparse volume with data written: goal ratio <= 1.2 for both.
2. `qemu-img bench` read throughput through a chain of depth 8 (data spread
   over the layers) vs the same data flattened (depth 0): goal >= 0.75x.
3. hostd's CreateSnapshot vs `virsh snapshot-create-as --disk-only` on the
   same volume file in the same run (virsh --timing, the embedded driver,
   an inactive domain whose disk is the volume's top).
Results go to build/bench/storage.json and stdout."""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from conftest import Env, Hostd, config_text  # noqa: E402
from storage_util import wait_idle  # noqa: E402

MIB = 1 << 20


def sh(*argv):
    return subprocess.run(list(argv), check=True, capture_output=True, text=True).stdout


def top(h, vol):
    with h.db() as db:
        return os.path.join(h.state_dir, db.execute("SELECT file FROM volumes WHERE id = ?", (vol,)).fetchone()[0])


def snap_ms(c, vol, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        c.create_snapshot(VolumeId=vol)
        out.append((time.perf_counter() - t) * 1000)
    return out


def write(path, off, length, byte):
    sh("qemu-io", "-f", "qcow2", "-c", "write -q -P 0x%02x %d %d" % (byte, off, length), path)


def qbench(path, step, size, count):
    """MB/s of qemu-img bench reads (sequential when step == size)."""
    t = time.perf_counter()
    sh("qemu-img", "bench", "-U", "-f", "qcow2", "-t", "none", "-n", "-i", "native", "-c", str(count),
       "-d", "16", "-s", str(size), "-S", str(step), path)
    dt = time.perf_counter() - t
    return count * size / dt / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hostd", default=os.path.join(ROOT, "build", "bin", "hostd"))
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "storage.json"))
    a = ap.parse_args()
    os.environ["HOSTD_BIN"] = a.hostd
    import conftest
    conftest.HOSTD = a.hostd
    d = tempfile.mkdtemp(prefix="hostd-bench-storage-")
    cfg = config_text().replace("[host]\nregion = us-east-1\n", "[host]\nregion = us-east-1\nflatten_depth = 1000\n")
    e = Env(Hostd(os.path.join(d, "state"), cfg))
    res = {}
    try:
        c = e.client()
        z = c.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]

        # 1a. depth 1 vs 64
        shallow = c.create_volume(AvailabilityZone=z, Size=1)["VolumeId"]
        deep = c.create_volume(AvailabilityZone=z, Size=1)["VolumeId"]
        for i in range(63):
            write(top(e.hostd, deep), (i % 32) * MIB, 64 * 1024, i + 1)
            c.create_snapshot(VolumeId=deep)
        d1, d64 = [], []
        for _ in range(a.reps):  # interleaved, each on a fresh top at its depth
            d1 += snap_ms(c, shallow, 1)
            d64 += snap_ms(c, deep, 1)
            for v in (shallow, deep):  # keep the depth: drop the snapshot just taken
                s = sorted(c.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [v]}])["Snapshots"],
                           key=lambda x: x["StartTime"])[-1]["SnapshotId"]
                c.delete_snapshot(SnapshotId=s)
            wait_idle(e.hostd, 1000)  # the collector's merge is not part of the measurement
        res["snapshot_ms_depth1"] = statistics.median(d1)
        res["snapshot_ms_depth64"] = statistics.median(d64)
        res["depth_ratio"] = res["snapshot_ms_depth64"] / res["snapshot_ms_depth1"]

        # 1b. 1 GiB vs 100 GiB, 256 MiB of data written across each
        small = c.create_volume(AvailabilityZone=z, Size=1)["VolumeId"]
        big = c.create_volume(AvailabilityZone=z, Size=100)["VolumeId"]
        for v, span in ((small, 1 << 30), (big, 100 << 30)):
            for i in range(64):
                write(top(e.hostd, v), (span // 64) * i, 4 * MIB, 0x40 + i)
        s1, s100 = [], []
        for _ in range(a.reps):
            s1 += snap_ms(c, small, 1)
            s100 += snap_ms(c, big, 1)
        res["snapshot_ms_1gib"] = statistics.median(s1)
        res["snapshot_ms_100gib"] = statistics.median(s100)
        res["size_ratio"] = res["snapshot_ms_100gib"] / res["snapshot_ms_1gib"]

        # 2. reads at depth 8 vs flattened: 8 layers, each holding 1/8 of 512 MiB
        chain = c.create_volume(AvailabilityZone=z, Size=1)["VolumeId"]
        for i in range(8):
            for j in range(i, 64, 8):
                write(top(e.hostd, chain), j * 8 * MIB, 8 * MIB, 0x10 + i)
            c.create_snapshot(VolumeId=chain)
        deep_top = top(e.hostd, chain)
        flat = os.path.join(d, "flat.qcow2")
        sh("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "qcow2", deep_top, flat)
        depth = int(sh("sqlite3", os.path.join(e.hostd.state_dir, "state.db"),
                       "WITH RECURSIVE c(f, n) AS (SELECT '%s', 0 UNION ALL SELECT l.backing, c.n + 1 FROM layers l "
                       "JOIN c ON l.file = c.f WHERE l.backing IS NOT NULL) SELECT MAX(n) FROM c"
                       % os.path.relpath(deep_top, e.hostd.state_dir)).strip())
        res["read_chain_depth"] = depth
        for name, step, size, count in (("seq4k", 4096, 4096, 131072), ("seq64k", 65536, 65536, 8192),
                                        ("stride4k", 1048576 + 4096, 4096, 500)):
            deep_r = statistics.median(qbench(deep_top, step, size, count) for _ in range(3))
            flat_r = statistics.median(qbench(flat, step, size, count) for _ in range(3))
            res["read_%s_mbs_depth8" % name] = deep_r
            res["read_%s_mbs_depth0" % name] = flat_r
            res["read_%s_ratio" % name] = deep_r / flat_r

        # 3. vs virsh snapshot-create-as --disk-only on the same file
        peer = c.create_volume(AvailabilityZone=z, Size=1)["VolumeId"]
        for i in range(8):
            write(top(e.hostd, peer), i * MIB, 64 * 1024, i + 1)
            c.create_snapshot(VolumeId=peer)
        vdir = os.path.join(d, "virsh")
        os.makedirs(vdir)
        shutil.copy(top(e.hostd, peer), os.path.join(vdir, "base.qcow2"))
        # the copy's backing chain is hostd's (read-only use), depth 9 like hostd's volume
        uri = "qemu:///embed?root=" + os.path.join(d, "virsh-root")
        xml = os.path.join(vdir, "dom.xml")
        with open(xml, "w") as f:
            f.write("<domain type='qemu'><name>bench</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>"
                    "hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                    "<source file='%s'/><target dev='vda' bus='virtio'/></disk></devices></domain>"
                    % os.path.join(vdir, "base.qcow2"))
        cmds = ["define %s" % xml]
        for i in range(min(a.reps, 5)):  # libvirt takes seconds per call here
            cmds.append("snapshot-create-as bench s%d --disk-only --no-metadata --diskspec vda,file=%s/o%d.qcow2"
                        % (i, vdir, i))
        p = subprocess.run(["virsh", "-t", "-c", uri, " ; ".join(cmds)], capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit("virsh failed: " + p.stderr + p.stdout)
        import re
        times = [float(x) for x in re.findall(r"\(Time: ([0-9.]+) ms\)", p.stdout)][1:]
        h_ms = snap_ms(c, peer, min(a.reps, 5))
        res["virsh_snapshot_ms"] = statistics.median(times)
        res["hostd_snapshot_ms_same_volume"] = statistics.median(h_ms)
        res["hostd_vs_virsh"] = res["hostd_snapshot_ms_same_volume"] / res["virsh_snapshot_ms"]
    except BaseException:
        print(e.hostd.read_log()[-4000:], file=sys.stderr)
        raise
    finally:
        e.hostd.stop()
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    for k, v in res.items():
        print("%-34s %10.3f" % (k, v))
    ok = res["depth_ratio"] <= 1.2 and res["size_ratio"] <= 1.2 and res["read_seq4k_ratio"] >= 0.75
    print("goals (depth <= 1.2, size <= 1.2, seq 4k read >= 0.75x):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
