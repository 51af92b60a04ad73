"""Helpers for the EBS tests: a raw reference model of every volume and
snapshot, writes through qemu-io into the chains hostd keeps, comparisons
with `qemu-img compare`, and what "the collector is done" means."""

import hashlib
import os
import subprocess
import time

GIB = 1 << 30


def sparse_copy(src, dst):
    """Reference files are sparse; a plain copy would write every zero."""
    run("cp", "--sparse=always", src, dst)


def run(*argv):
    p = subprocess.run(list(argv), capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p.stdout


class Model:
    """Raw reference files, one per volume and snapshot, next to the state."""

    def __init__(self, hostd, refdir):
        self.h = hostd
        self.refdir = refdir
        os.makedirs(refdir, exist_ok=True)
        self.vols = {}    # id -> ref path
        self.snaps = {}   # id -> ref path

    def set_hostd(self, hostd):
        self.h = hostd

    def ref(self, rid):
        return os.path.join(self.refdir, rid + ".raw")

    def file_of(self, kind, rid):
        with self.h.db() as db:
            row = db.execute("SELECT file FROM %s WHERE id = ?" % kind, (rid,)).fetchone()
        assert row, "%s %s has no row" % (kind, rid)
        return os.path.join(self.h.state_dir, row[0])

    def new_volume(self, vid, size_gib, from_snap=None):
        p = self.ref(vid)
        if from_snap:
            sparse_copy(self.snaps[from_snap], p)
        else:
            open(p, "wb").close()
        os.truncate(p, size_gib * GIB)
        self.vols[vid] = p

    def grow(self, vid, size_gib):
        os.truncate(self.vols[vid], size_gib * GIB)

    def snapshot(self, sid, vid):
        p = self.ref(sid)
        sparse_copy(self.vols[vid], p)
        self.snaps[sid] = p

    def copy(self, sid, src):
        p = self.ref(sid)
        sparse_copy(self.snaps[src], p)
        self.snaps[sid] = p

    def drop_volume(self, vid):
        os.unlink(self.vols.pop(vid))

    def drop_snapshot(self, sid):
        os.unlink(self.snaps.pop(sid))

    def write(self, vid, off, length, byte):
        """The same bytes into the volume's chain (qemu-io on its top) and
        into its reference."""
        run("qemu-io", "-f", "qcow2", "-c", "write -q -P 0x%02x %d %d" % (byte, off, length),
            self.file_of("volumes", vid))
        with open(self.vols[vid], "r+b") as f:
            f.seek(off)
            f.write(bytes([byte]) * length)

    def check(self, force_share=False):
        """Every volume and snapshot reads back exactly as its reference."""
        for kind, objs in (("volumes", self.vols), ("snapshots", self.snaps)):
            for rid, ref in objs.items():
                args = ["qemu-img", "compare", "-q", "-f", "qcow2", "-F", "raw"]
                if force_share:
                    args.append("-U")
                p = subprocess.run(args + [self.file_of(kind, rid), ref], capture_output=True, text=True)
                assert p.returncode == 0, "%s %s differs from its reference (%d): %s" % (
                    kind, rid, p.returncode, p.stdout + p.stderr)

    def sha(self, kind, rid, mib=64):
        """SHA-256 of the first mib MiB the guest would read (where these
        tests write; check() compares the whole disk)."""
        tmp = os.path.join(self.refdir, "sha.tmp")
        run("qemu-img", "dd", "-U", "-f", "qcow2", "-O", "raw", "bs=1M", "count=%d" % mib,
            "if=" + self.file_of(kind, rid), "of=" + tmp)
        with open(tmp, "rb") as f:
            out = hashlib.sha256(f.read()).hexdigest()
        os.unlink(tmp)
        return out


def graph(h):
    with h.db() as db:
        layers = dict(db.execute("SELECT file, backing FROM layers").fetchall())
        refs = [r[0] for r in db.execute("SELECT file FROM volumes WHERE state != 'deleted' UNION ALL "
                                         "SELECT file FROM snapshots WHERE file != ''")]
        ops = db.execute("SELECT COUNT(*) FROM storage_ops").fetchone()[0]
    return layers, refs, ops


def depth(layers, f):
    d = 0
    while f is not None and d < 10000:
        d += 1
        f = layers.get(f)
    return d


def idle(h, flatten_depth):
    """True when the collector has nothing left to do: no journaled op, no
    unreferenced layer with fewer than two children, no referenced leaf
    deeper than flatten_depth (no VM runs in these tests)."""
    layers, refs, ops = graph(h)
    if ops:
        return False
    children = {}
    for f, b in layers.items():
        if b is not None:
            children[b] = children.get(b, 0) + 1
    for f in layers:
        n = children.get(f, 0)
        if f not in refs and n < 2:
            return False
        if n == 0 and f in refs and depth(layers, f) > flatten_depth:
            return False
    return True


def wait_idle(h, flatten_depth, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if idle(h, flatten_depth):
            return
        time.sleep(0.1)
    raise AssertionError("storage did not settle: %r" % (graph(h),))


def assert_no_leaks(h):
    """Files under layers/ and volumes/ are exactly the layer rows there,
    every layer row's file exists, and no temporary file is left."""
    layers, refs, ops = graph(h)
    assert ops == 0
    on_disk = set()
    for d in ("layers", "volumes"):
        p = os.path.join(h.state_dir, d)
        if os.path.isdir(p):
            on_disk |= {d + "/" + n for n in os.listdir(p)}
    with h.db() as db:
        creating = {r[0] for r in db.execute("SELECT file FROM volumes WHERE state = 'creating'")}
    rows = {f for f in layers if f.startswith(("layers/", "volumes/"))}
    assert not [f for f in on_disk if f.endswith(".tmp")], on_disk
    assert on_disk == rows - creating, "files %r vs rows %r" % (sorted(on_disk), sorted(rows))
    for f in layers:
        if f not in creating:
            assert os.path.exists(os.path.join(h.state_dir, f)), f
