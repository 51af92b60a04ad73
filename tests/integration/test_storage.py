"""The storage layer without guests (issue #6): random writes through
qemu-io into the qcow2 chains hostd keeps and the same writes into raw
reference files, with snapshots, volumes from snapshots, copies, growth,
middle-of-chain deletes and flattening in between; every volume and
snapshot always reads back identical to its reference. Then hostd killed
with SIGKILL at every step of the journaled operations: after a restart
every volume and snapshot still has exactly its data and no file leaks."""

import os
import random
import shutil
import signal
import tempfile
import time

import botocore.exceptions
import pytest

from conftest import Env, Hostd, config_text
from storage_util import GIB, Model, assert_no_leaks, wait_idle

FLATTEN = 4
MIB = 1 << 20


def cfg(flatten=FLATTEN):
    return config_text().replace("[host]\nregion = us-east-1\n",
                                 "[host]\nregion = us-east-1\nflatten_depth = %d\n" % flatten)


def finish(e):
    rc = e.hostd.stop()
    log = e.hostd.read_log()
    assert rc == 0, "hostd exit %r\n%s" % (rc, log[-5000:])
    assert "runtime error" not in log and "AddressSanitizer" not in log, log
    assert e.sink == [], "responses that do not match the EC2 model:\n" + "\n".join(map(str, e.sink))


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="hostd-ebs-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def az(c):
    return c.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]


def test_differential(tmp):
    """~80 random operations; the model is checked after every one (reads
    with force-share while the collector may be merging) and again once
    the collector has settled."""
    e = Env(Hostd(os.path.join(tmp, "state"), cfg()))
    c = e.client()
    zone = az(c)
    m = Model(e.hostd, os.path.join(tmp, "ref"))
    rng = random.Random(int(os.environ.get("STORAGE_SEED", "6")))
    transient = []
    stats = dict(write=0, snap=0, vol_from_snap=0, delete_snap=0, delete_vol=0, grow=0, copy=0)

    def new_volume(snap=None, size=1):
        kw = dict(AvailabilityZone=zone, Size=size)
        if snap:
            kw["SnapshotId"] = snap
        v = c.create_volume(**kw)
        m.new_volume(v["VolumeId"], v["Size"], snap)
        return v["VolumeId"]

    try:
        new_volume()
        new_volume(size=2)
        for step in range(80):
            vols, snaps = sorted(m.vols), sorted(m.snaps)
            op = rng.choices(["write", "snap", "vol_from_snap", "delete_snap", "delete_vol", "grow", "copy"],
                             [40, 22, 8, 14, 4, 4, 4])[0]
            if op in ("vol_from_snap", "delete_snap", "copy") and not snaps:
                op = "snap"
            if op == "delete_vol" and len(vols) < 2:
                op = "write"
            # writes go into a top no merge is rewriting right now
            wait_idle(e.hostd, FLATTEN)
            if op == "write":
                for _ in range(rng.randint(1, 4)):
                    v = rng.choice(vols)
                    off = rng.randrange(0, 48 * MIB // 512) * 512
                    m.write(v, off, rng.choice([512, 4096, 65536, 300 * 1024]), rng.randrange(1, 256))
            elif op == "snap":
                v = rng.choice(vols)
                s = c.create_snapshot(VolumeId=v)["SnapshotId"]
                m.snapshot(s, v)
            elif op == "vol_from_snap":
                s = rng.choice(snaps)
                size = c.describe_snapshots(SnapshotIds=[s])["Snapshots"][0]["VolumeSize"] + rng.randint(0, 1)
                new_volume(s, size)
            elif op == "delete_snap":
                s = rng.choice(snaps)
                c.delete_snapshot(SnapshotId=s)
                m.drop_snapshot(s)
            elif op == "delete_vol":
                v = rng.choice(vols)
                c.delete_volume(VolumeId=v)
                m.drop_volume(v)
            elif op == "grow":
                v = rng.choice(vols)
                size = c.describe_volumes(VolumeIds=[v])["Volumes"][0]["Size"] + 1
                c.modify_volume(VolumeId=v, Size=size)
                m.grow(v, size)
            elif op == "copy":
                s = rng.choice(snaps)
                n = c.copy_snapshot(SourceSnapshotId=s, SourceRegion="us-east-1")["SnapshotId"]
                m.copy(n, s)
            stats[op] += 1
            # Reads may overlap a background merge here (force-share, as
            # no guest would: chains of running VMs are never merged); a
            # mismatch must be gone once the collector is done.
            try:
                m.check(force_share=True)
            except AssertionError as exc:
                transient.append((step, op, str(exc)))
                wait_idle(e.hostd, FLATTEN)
                m.check()
        wait_idle(e.hostd, FLATTEN)
        m.check()
        assert_no_leaks(e.hostd)
        print("ops:", stats, "reads that overlapped a merge and differed:", transient)
        # chains stay shallow: nothing referenced is deeper than the limit + 1
        with e.hostd.db() as db:
            layers = dict(db.execute("SELECT file, backing FROM layers").fetchall())
        from storage_util import depth
        for v in m.vols:
            assert depth(layers, os.path.relpath(m.file_of("volumes", v), e.hostd.state_dir)) <= FLATTEN
        # the log shows merges and flattening really happened
        log = e.hostd.read_log()
        assert "merging" in log and "flattening" in log and "collected" in log, stats
        # deleting everything leaves no file behind
        for s in list(m.snaps):
            c.delete_snapshot(SnapshotId=s)
            m.drop_snapshot(s)
        for v in list(m.vols):
            c.delete_volume(VolumeId=v)
            m.drop_volume(v)
        wait_idle(e.hostd, FLATTEN)
        assert_no_leaks(e.hostd)
        assert os.listdir(os.path.join(e.hostd.state_dir, "layers")) == []
    finally:
        finish(e)


# --- kill -9 at every step of the journaled operations ---

def start(tmp, crash=None):
    env = dict(os.environ)
    env.pop("HOSTD_CRASH_AT", None)
    if crash:
        env["HOSTD_CRASH_AT"] = crash
    return Env(Hostd(os.path.join(tmp, "state"), cfg(), env=env))


def quick_client(e):
    """A client that gives up soon on an answer that will never come (a
    helper process may hold the dead hostd's connection open)."""
    import boto3
    import botocore.config
    from conftest import ACCOUNT_A
    from ec2_validator import attach_to_boto3_client
    c = boto3.client("ec2", endpoint_url=e.hostd.endpoint, region_name="us-east-1",
                     aws_access_key_id=ACCOUNT_A[1], aws_secret_access_key=ACCOUNT_A[2],
                     config=botocore.config.Config(retries={"total_max_attempts": 1}, read_timeout=4,
                                                   connect_timeout=4))
    attach_to_boto3_client(c, e.sink)
    return c


def wait_dead(h, timeout=30):
    try:
        h.proc.wait(timeout)
    except Exception:
        h.proc.kill()   # no hostd outlives its test
        h.proc.wait()
        raise AssertionError("hostd did not die at its crash point:\n" + h.read_log()[-3000:])
    assert h.proc.returncode == -signal.SIGKILL, h.proc.returncode
    h.log.close()


def setup_chain(e, m, zone):
    """A volume with data, four snapshots between writes, and a second
    volume made from the second one (so the third sits in the middle of a
    chain with one child)."""
    c = e.client()
    v = c.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    m.new_volume(v, 1)
    snaps = []
    for i in range(4):
        wait_idle(e.hostd, FLATTEN)  # writes never race a merge of the same top
        m.write(v, i * MIB, 256 * 1024, 0x10 + i)
        s = c.create_snapshot(VolumeId=v)["SnapshotId"]
        m.snapshot(s, v)
        snaps.append(s)
    wait_idle(e.hostd, FLATTEN)
    m.write(v, 0, 4096, 0x77)
    v2 = c.create_volume(AvailabilityZone=zone, SnapshotId=snaps[1])["VolumeId"]
    m.new_volume(v2, 1, snaps[1])
    wait_idle(e.hostd, FLATTEN)
    m.write(v2, 5 * MIB, 8192, 0x55)
    return v, v2, snaps


# (crash point, the operation run with it, how the model follows)
CASES = [
    ("intent", "snapshot"), ("overlay-tmp", "snapshot"), ("overlay-renamed", "snapshot"),
    ("before-finish", "snapshot"),
    ("intent", "volume"), ("overlay-tmp", "volume"), ("before-finish", "volume"),
    ("intent", "grow"), ("before-finish", "grow"),
    ("rebase-before", "delete-middle"), ("rebase-after", "delete-middle"),
    ("merge-before-unlink", "delete-middle"), ("gc-before-unlink", "delete-volume"),
    ("rebase-after", "flatten"),
]


@pytest.mark.parametrize("point,op", CASES, ids=["%s-%s" % c for c in CASES])
def test_kill9(tmp, point, op):
    e = start(tmp)
    c = e.client()
    zone = az(c)
    m = Model(e.hostd, os.path.join(tmp, "ref"))
    v, v2, snaps = setup_chain(e, m, zone)
    wait_idle(e.hostd, FLATTEN)
    before = {k: m.sha("volumes", k) for k in m.vols}
    before.update({k: m.sha("snapshots", k) for k in m.snaps})
    finish(e)

    e = start(tmp, crash=point)
    m.set_hostd(e.hostd)
    c = quick_client(e)
    expect_new = None
    try:
        if op == "snapshot":
            expect_new = ("snap", c.create_snapshot(VolumeId=v))
        elif op == "volume":
            expect_new = ("vol", c.create_volume(AvailabilityZone=zone, SnapshotId=snaps[2]))
        elif op == "grow":
            c.modify_volume(VolumeId=v, Size=2)
        elif op == "delete-middle":
            c.delete_snapshot(SnapshotId=snaps[2])
        elif op == "delete-volume":
            c.delete_volume(VolumeId=v2)
        elif op == "flatten":
            for _ in range(FLATTEN):
                s = c.create_snapshot(VolumeId=v)["SnapshotId"]
                m.snapshot(s, v)
    except botocore.exceptions.BotoCoreError:
        pass  # hostd died while answering
    wait_dead(e.hostd)

    e = start(tmp)
    m.set_hostd(e.hostd)
    c = e.client()
    try:
        # whatever the API accepted before the kill is there, and complete
        with e.hostd.db() as db:
            rows = db.execute("SELECT id, state FROM snapshots").fetchall() + \
                db.execute("SELECT id, state FROM volumes").fetchall()
        states = dict(rows)
        assert all(s in ("completed", "available") for s in states.values()), states
        if op == "snapshot":
            new = [s for s in states if s.startswith("snap-") and s not in m.snaps]
            for s in new:     # the snapshot holds the volume as it was
                m.snapshot(s, v)
        elif op == "volume":
            new = [x for x in states if x.startswith("vol-") and x not in m.vols]
            for x in new:
                m.new_volume(x, 1, snaps[2])
        elif op == "grow":
            size = c.describe_volumes(VolumeIds=[v])["Volumes"][0]["Size"]
            assert size in (1, 2)
            m.grow(v, size)
            mods = c.describe_volumes_modifications()["VolumesModifications"]
            assert all(x["ModificationState"] == "completed" for x in mods), mods
        elif op == "delete-middle":
            assert snaps[2] not in states
            m.drop_snapshot(snaps[2])
        elif op == "delete-volume":
            assert v2 not in states
            m.drop_volume(v2)
        wait_idle(e.hostd, FLATTEN)
        m.check()
        # the objects that existed before have the very same bytes
        for k, sha in before.items():
            if k in m.vols and op != "grow":
                assert m.sha("volumes", k) == sha, k
            elif k in m.snaps:
                assert m.sha("snapshots", k) == sha, k
        assert_no_leaks(e.hostd)
        # and the chain still works: one more snapshot, write, compare
        s = c.create_snapshot(VolumeId=v)["SnapshotId"]
        m.snapshot(s, v)
        wait_idle(e.hostd, FLATTEN)
        m.write(v, 3 * MIB, 4096, 0x99)
        wait_idle(e.hostd, FLATTEN)
        m.check()
    finally:
        finish(e)
