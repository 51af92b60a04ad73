"""The AMI registry: ImportImage from files on the host (qcow2, raw, VMDK)
through the background worker, DescribeImportImageTasks, CancelImportTask,
RegisterImage, DescribeImages, DeregisterImage, DescribeImageAttribute;
restarts in the middle of an import; account isolation; the AWS CLI."""

import json
import os
import re
import signal
import stat
import subprocess
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_A, ACCOUNT_B, ROOT, Env, Hostd, config_text
from ec2_validator import validate_response
from sign import botocore_signed

TINY = os.path.join(ROOT, "build", "ami", "tiny.qcow2")
GIB = 1 << 30


def err_code(exc):
    return exc.value.response["Error"]["Code"]


def url(path):
    return "file://" + urllib.parse.quote(path)


def qemu_img(*args):
    return subprocess.run(["qemu-img"] + list(args), capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module", autouse=True)
def tiny_ami():
    assert os.path.exists(TINY), "build/ami/tiny.qcow2 is missing: run `make tiny-ami`"


def wait_task(ec2, tid, timeout=90):
    """Polls until the task leaves active/deleting; returns it and what was seen."""
    deadline = time.time() + timeout
    seen = []
    while True:
        t = ec2.describe_import_image_tasks(ImportTaskIds=[tid])["ImportImageTasks"][0]
        seen.append((t["Status"], t.get("StatusMessage"), t.get("Progress")))
        if t["Status"] not in ("active", "deleting"):
            return t, seen
        assert time.time() < deadline, "task %s still %s" % (tid, seen[-3:])
        time.sleep(0.05)


def start_import(ec2, path, fmt=None, **kw):
    dc = {"Url": url(path)}
    if fmt:
        dc["Format"] = fmt
    return ec2.import_image(DiskContainers=[dc], **kw)


def import_ok(ec2, path, fmt=None, **kw):
    r = start_import(ec2, path, fmt, **kw)
    t, _ = wait_task(ec2, r["ImportTaskId"])
    assert t["Status"] == "completed", t
    img = ec2.describe_images(ImageIds=[t["ImageId"]])["Images"][0]
    return t, img


def import_fails(ec2, path, fmt=None):
    r = start_import(ec2, path, fmt)
    t, _ = wait_task(ec2, r["ImportTaskId"])
    assert t["Status"] == "deleted", t
    assert "ImageId" not in t
    return t["StatusMessage"]


def snapshot_file(hostd, snap):
    with hostd.db() as db:
        row = db.execute("SELECT file FROM snapshots WHERE id = ?", (snap,)).fetchone()
    return os.path.join(hostd.state_dir, row[0]) if row else None


def snapdir_files(hostd):
    return sorted(os.listdir(os.path.join(hostd.state_dir, "snapshots")))


def raw_disk(path, size, mbr=True):
    """A sparse raw file, with a boot signature when mbr."""
    with open(path, "wb") as f:
        f.truncate(size)
        if mbr:
            f.seek(510)
            f.write(b"\x55\xaa")
    return str(path)


def register(ec2, name, snap, **kw):
    bdm = {"DeviceName": kw.pop("device", "/dev/xvda"), "Ebs": {"SnapshotId": snap}}
    bdm["Ebs"].update(kw.pop("ebs", {}))
    return ec2.register_image(Name=name, RootDeviceName=bdm["DeviceName"], BlockDeviceMappings=[bdm],
                              VirtualizationType="hvm", Architecture="x86_64", **kw)["ImageId"]


def raw_call(env, action, params, account=ACCOUNT_A):
    """For parameters Debian's boto3 predates (RegisterImage TagSpecification,
    DeregisterImage DeleteAssociatedSnapshots): a botocore-signed request,
    its response validated against the newest model."""
    st, body = botocore_signed(env.hostd.endpoint, dict(params, Action=action, Version="2016-11-15"),
                               account[1], account[2])
    validate_response(action, st, body)
    return st, body


# A qemu-img stand-in first on hostd's PATH: `convert` reports 50%, creates
# its output and waits while <dir>/hold exists, then runs the real one.
WRAPPER = r"""#!/bin/bash
dir=$(dirname "$0")
if [ "$1" = convert ]; then
  dst="${@: -1}"
  printf '    (0.00/100%%)\r    (50.00/100%%)\r'
  : > "$dst"
  echo $$ > "$dir/pid"
  while [ -e "$dir/hold" ]; do sleep 0.05; done
fi
exec /usr/bin/qemu-img "$@"
"""


@pytest.fixture
def slow_qemu(tmp_path):
    d = tmp_path / "wrap"
    d.mkdir()
    (d / "qemu-img").write_text(WRAPPER)
    (d / "qemu-img").chmod(0o755)
    (d / "hold").write_text("")
    env = dict(os.environ, PATH="%s:%s" % (d, os.environ["PATH"]))
    return d, env


def wait_for(cond, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def check_hostd_log(h):
    log = h.read_log()
    assert "runtime error" not in log and "AddressSanitizer" not in log, log


# ---- ImportImage ----

def test_import_qcow2(env, ec2):
    r = start_import(ec2, TINY, "qcow2", Description="tiny test AMI", BootMode="legacy-bios",
                     TagSpecifications=[{"ResourceType": "import-image-task", "Tags": [{"Key": "t", "Value": "1"}]}])
    tid = r["ImportTaskId"]
    assert re.fullmatch(r"import-ami-[0-9a-f]{17}", tid)
    assert (r["Status"], r["StatusMessage"], r["Progress"]) == ("active", "pending", "2")
    assert r["Description"] == "tiny test AMI"
    assert r["SnapshotDetails"][0]["Url"] == url(TINY) and r["SnapshotDetails"][0]["Format"] == "QCOW2"
    assert r["Tags"] == [{"Key": "t", "Value": "1"}]

    t, seen = wait_task(ec2, tid)
    assert t["Status"] == "completed" and "StatusMessage" not in t and "Progress" not in t
    assert re.fullmatch(r"ami-[0-9a-f]{17}", t["ImageId"])
    assert (t["Architecture"], t["Platform"], t["BootMode"]) == ("x86_64", "Linux", "legacy-bios")
    sd = t["SnapshotDetails"][0]
    assert sd["DeviceName"] == "/dev/sda1" and sd["Status"] == "completed" and sd["Format"] == "QCOW2"
    assert sd["DiskImageSize"] == os.path.getsize(TINY)
    assert t["Tags"] == [{"Key": "t", "Value": "1"}]
    # Progress only ever grows while active.
    pcts = [int(p) for s, _, p in seen if s == "active"]
    assert pcts == sorted(pcts)

    img = ec2.describe_images(ImageIds=[t["ImageId"]])["Images"][0]
    assert img["Name"] == tid and img["State"] == "available" and img["Description"] == "tiny test AMI"
    assert img["RootDeviceName"] == "/dev/sda1" and img["RootDeviceType"] == "ebs"
    assert img["OwnerId"] == ACCOUNT_A[0] and img["ImageLocation"] == "%s/%s" % (ACCOUNT_A[0], tid)
    assert img["BootMode"] == "legacy-bios" and img["VirtualizationType"] == "hvm"
    assert img["Hypervisor"] == "xen" and img["PlatformDetails"] == "Linux/UNIX"
    assert img["BlockDeviceMappings"] == [{"DeviceName": "/dev/sda1", "Ebs": {
        "DeleteOnTermination": True, "SnapshotId": sd["SnapshotId"], "VolumeSize": 1, "VolumeType": "gp3",
        "Encrypted": False}}]

    # The AMI's disk: a read-only, self-contained qcow2 of the same disk.
    f = snapshot_file(env.hostd, sd["SnapshotId"])
    assert f == os.path.join(env.hostd.state_dir, "snapshots", sd["SnapshotId"] + ".qcow2")
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o444
    info = json.loads(qemu_img("info", "--output=json", f))
    assert info["format"] == "qcow2" and info["virtual-size"] == 512 << 20
    assert "backing-filename" not in info and "full-backing-filename" not in info
    assert "Images are identical" in qemu_img("compare", "-f", "qcow2", "-F", "qcow2", TINY, f)
    assert snapdir_files(env.hostd) == [sd["SnapshotId"] + ".qcow2"]
    with env.hostd.db() as db:
        row = db.execute("SELECT volume_id, size_gib, state, description FROM snapshots").fetchone()
    assert row == ("vol-ffffffff", 1, "completed", "Created by AWS-VM-Import-Export service for " + tid)
    # The task is taggable like any resource.
    ec2.create_tags(Resources=[tid], Tags=[{"Key": "u", "Value": "2"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["import-image-task"]}])["Tags"]
    assert sorted((x["ResourceId"], x["Key"]) for x in tags) == [(tid, "t"), (tid, "u")]


def test_import_raw_vmdk_and_detection(env, ec2, tmp_path):
    raw = str(tmp_path / "tiny.raw")
    vmdk = str(tmp_path / "tiny.vmdk")
    qemu_img("convert", "-O", "raw", TINY, raw)
    qemu_img("convert", "-O", "vmdk", TINY, vmdk)
    for path, fmt, want in [(raw, "RAW", "RAW"), (raw, None, "RAW"), (vmdk, "vmdk", "VMDK"),
                            (TINY, None, "QCOW2")]:
        t, img = import_ok(ec2, path, fmt)
        assert t["SnapshotDetails"][0]["Format"] == want
        assert img["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 1
        f = snapshot_file(env.hostd, t["SnapshotDetails"][0]["SnapshotId"])
        assert "Images are identical" in qemu_img("compare", "-F", "qcow2", TINY, f)
    assert len(ec2.describe_images(Owners=["self"])["Images"]) == 4
    # Virtual sizes round up to whole GiB.
    t, img = import_ok(ec2, raw_disk(tmp_path / "big.raw", 3 * GIB + 512), "raw")
    assert img["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 4


def test_import_failures_end_deleted(env, ec2, tmp_path):
    raw = raw_disk(tmp_path / "disk.raw", 64 << 20)
    overlay = str(tmp_path / "overlay.qcow2")
    qemu_img("create", "-f", "qcow2", "-b", TINY, "-F", "qcow2", overlay)
    flat = tmp_path / "flat.vmdk"
    flat.write_text('# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
                    'createType="monolithicFlat"\nRW 2048 FLAT "%s" 0\n' % raw)
    (tmp_path / "empty").write_bytes(b"")
    cases = [
        (str(tmp_path / "missing.raw"), None, "ClientError: Disk validation failed [File not found"),
        (str(tmp_path), None, "ClientError: Disk validation failed [Not a regular file"),
        (raw_disk(tmp_path / "nombr.raw", GIB, mbr=False), None, "ClientError: No valid partitions. Not a valid volume."),
        (raw, "VMDK", "ClientError: Disk validation failed [The file is a RAW image, not VMDK as specified]"),
        (TINY, "raw", "ClientError: Disk validation failed [The file is a QCOW2 image, not RAW as specified]"),
        (overlay, None, "ClientError: Disk validation failed [Disk images with a backing file are not supported]"),
        (str(flat), None, "ClientError: Disk validation failed [Multi-file VMDK images are not supported"),
        (str(tmp_path / "empty"), None, "ClientError: Disk validation failed [The disk image is empty]"),
    ]
    for path, fmt, msg in cases:
        got = import_fails(ec2, path, fmt)
        assert got.startswith(msg), (path, got)
    # Nothing left behind: no files, no hidden AMIs.
    assert snapdir_files(env.hostd) == []
    assert ec2.describe_images()["Images"] == []
    with env.hostd.db() as db:
        assert db.execute("SELECT count(*) FROM images").fetchone() == (0,)
    tasks = ec2.describe_import_image_tasks(Filters=[{"Name": "task-state", "Values": ["deleted"]}])
    assert len(tasks["ImportImageTasks"]) == len(cases)


def test_import_bad_requests(ec2):
    cases = [
        ({"DiskContainers": [{"Url": "s3://bucket/disk.vmdk"}]}, "UnsupportedOperation"),
        ({"DiskContainers": [{"Url": "https://example.com/disk.vmdk"}]}, "UnsupportedOperation"),
        ({"DiskContainers": [{"UserBucket": {"S3Bucket": "b", "S3Key": "k.vmdk"}}]}, "UnsupportedOperation"),
        ({"DiskContainers": [{"Url": url(TINY), "SnapshotId": "snap-12345678"}]}, "UnsupportedOperation"),
        ({"DiskContainers": [{"Url": url(TINY)}, {"Url": url(TINY)}]}, "UnsupportedOperation"),
        ({"DiskContainers": [{"Url": "file://relative/x"}]}, "InvalidParameterValue"),
        ({"DiskContainers": [{"Url": "/abs/path/without/scheme"}]}, "InvalidParameterValue"),
        ({"DiskContainers": [{"Url": "file:///a%00b"}]}, "InvalidParameterValue"),
        ({"DiskContainers": [{"Format": "raw"}]}, "MissingParameter"),
        ({}, "MissingParameter"),
        ({"DiskContainers": [{"Url": url(TINY), "Format": "ova"}]}, "UnsupportedOperation"),
        ({"DiskContainers": [{"Url": url(TINY), "Format": "iso"}]}, "InvalidParameterValue"),
        ({"DiskContainers": [{"Url": url(TINY)}], "Architecture": "arm64"}, "InvalidParameterValue"),
        ({"DiskContainers": [{"Url": url(TINY)}], "Platform": "Windows"}, "UnsupportedOperation"),
        ({"DiskContainers": [{"Url": url(TINY)}], "Platform": "BeOS"}, "InvalidParameterValue"),
        ({"DiskContainers": [{"Url": url(TINY)}], "BootMode": "coreboot"}, "InvalidParameterValue"),
        ({"DiskContainers": [{"Url": url(TINY)}], "LicenseType": "GPL"}, "InvalidParameterValue"),
        ({"DiskContainers": [{"Url": url(TINY)}], "Encrypted": True}, "UnsupportedOperation"),
        ({"DiskContainers": [{"Url": url(TINY)}], "Description": "x" * 256}, "InvalidParameterValue"),
        ({"DiskContainers": [{"Url": url(TINY)}], "ClientToken": "t" * 65}, "InvalidParameterValue"),
        ({"DiskContainers": [{"Url": url(TINY)}],
          "TagSpecifications": [{"ResourceType": "image", "Tags": [{"Key": "a", "Value": "b"}]}]},
         "InvalidParameterValue"),
    ]
    for kw, code in cases:
        with pytest.raises(ClientError) as e:
            ec2.import_image(**kw)
        assert err_code(e) == code, kw
    assert ec2.describe_import_image_tasks()["ImportImageTasks"] == []
    # Accepted and without effect here.
    r = ec2.import_image(DiskContainers=[{"Url": url(TINY)}], Architecture="x86_64", Platform="Linux",
                         LicenseType="BYOL", RoleName="vmimport", Hypervisor="xen",
                         ClientData={"Comment": "from a test"})
    assert (r["Architecture"], r["Platform"], r["LicenseType"]) == ("x86_64", "Linux", "BYOL")
    wait_task(ec2, r["ImportTaskId"])


def test_client_token(env, ec2, ec2b, tmp_path):
    a = start_import(ec2, TINY, Description="d", ClientToken="tok-1")
    b = start_import(ec2, TINY, Description="d", ClientToken="tok-1")
    assert a["ImportTaskId"] == b["ImportTaskId"]
    t, _ = wait_task(ec2, a["ImportTaskId"])
    # A retry after completion answers with the finished task.
    c = start_import(ec2, TINY, Description="d", ClientToken="tok-1")
    assert c["ImportTaskId"] == a["ImportTaskId"] and c["Status"] == "completed" and c["ImageId"] == t["ImageId"]
    assert len(ec2.describe_import_image_tasks()["ImportImageTasks"]) == 1
    for kw in [{"Description": "other"}, {"Description": "d", "fmt": "raw"}]:
        with pytest.raises(ClientError) as e:
            start_import(ec2, TINY, ClientToken="tok-1", **kw)
        assert err_code(e) == "IdempotentParameterMismatch"
    with pytest.raises(ClientError) as e:
        start_import(ec2, raw_disk(tmp_path / "x.raw", GIB), Description="d", ClientToken="tok-1")
    assert err_code(e) == "IdempotentParameterMismatch"
    # Tokens are per account.
    d = start_import(ec2b, TINY, Description="d", ClientToken="tok-1")
    assert d["ImportTaskId"] != a["ImportTaskId"]
    wait_task(ec2b, d["ImportTaskId"])


def test_import_dirs(state_dir, tmp_path):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    ok = allowed / "ok.qcow2"
    ok.write_bytes(open(TINY, "rb").read())
    out = outside / "x.qcow2"
    out.write_bytes(open(TINY, "rb").read())
    (allowed / "link.qcow2").symlink_to(out)
    (allowed / "up").symlink_to(outside)
    h = Hostd(state_dir, config_text(extra="[host]\nimport_dirs = %s:/nonexistent/dir\n" % allowed))
    e = Env(h)
    try:
        ec2 = e.client()
        import_ok(ec2, str(ok))
        denied = "ClientError: Disk validation failed [Access denied: "
        for p in [str(out), str(allowed / "link.qcow2"), str(allowed / "up" / "x.qcow2"),
                  str(allowed / ".." / "outside" / "x.qcow2"), str(outside / "missing.qcow2"), "/etc/passwd"]:
            msg = import_fails(ec2, p)
            assert msg.startswith(denied) and "import_dirs" in msg, (p, msg)
        # Inside, a missing file is reported as such.
        assert import_fails(ec2, str(allowed / "nope.raw")).startswith(
            "ClientError: Disk validation failed [File not found")
        assert e.sink == []
    finally:
        assert h.stop() == 0
        check_hostd_log(h)


def test_describe_import_tasks_filters_and_pages(ec2, tmp_path):
    good = [start_import(ec2, TINY)["ImportTaskId"] for _ in range(3)]
    bad = start_import(ec2, str(tmp_path / "missing"))["ImportTaskId"]
    for tid in good + [bad]:
        wait_task(ec2, tid)

    def ids(**kw):
        return sorted(t["ImportTaskId"] for t in ec2.describe_import_image_tasks(**kw)["ImportImageTasks"])

    assert ids() == sorted(good + [bad])
    assert ids(Filters=[{"Name": "task-state", "Values": ["completed"]}]) == sorted(good)
    assert ids(Filters=[{"Name": "task-state", "Values": ["deleted", "active"]}]) == [bad]
    assert ids(ImportTaskIds=[good[1], bad]) == sorted([good[1], bad])
    seen, token, pages = [], None, 0
    while True:
        kw = {"MaxResults": 1}
        if token:
            kw["NextToken"] = token
        r = ec2.describe_import_image_tasks(**kw)
        seen += [t["ImportTaskId"] for t in r["ImportImageTasks"]]
        pages += 1
        token = r.get("NextToken")
        if not token:
            break
    assert seen == sorted(good + [bad]) and pages == 4
    for kw, code in [({"ImportTaskIds": ["import-ami-xyz"]}, "InvalidConversionTaskId.Malformed"),
                     ({"ImportTaskIds": ["ami-12345678"]}, "InvalidConversionTaskId.Malformed"),
                     ({"ImportTaskIds": ["import-ami-0123456789abcdef0"]}, "InvalidConversionTaskId"),
                     ({"Filters": [{"Name": "state", "Values": ["x"]}]}, "InvalidParameterValue"),
                     ({"MaxResults": 0}, "InvalidParameterValue"),
                     ({"NextToken": "bogus"}, "InvalidPaginationToken")]:
        with pytest.raises(ClientError) as e:
            ec2.describe_import_image_tasks(**kw)
        assert err_code(e) == code, kw


def test_progress_and_cancel(state_dir, slow_qemu, tmp_path):
    wrap, penv = slow_qemu
    h = Hostd(state_dir, config_text(), env=penv)
    e = Env(h)
    try:
        ec2 = e.client()
        tid = start_import(ec2, TINY, Description="to cancel")["ImportTaskId"]
        queued = start_import(ec2, TINY)["ImportTaskId"]

        def converting():
            t = ec2.describe_import_image_tasks(ImportTaskIds=[tid])["ImportImageTasks"][0]
            return t.get("StatusMessage") == "converting" and t["Progress"] == "50"
        # 50% of the conversion is 10 + 40 of the task's progress.
        wait_for(converting, what="the conversion to report 50%")
        wait_for(lambda: (wrap / "pid").exists(), what="qemu-img to start")
        pid = int((wrap / "pid").read_text())
        tmp = [f for f in snapdir_files(h) if f.endswith(".tmp")]
        assert len(tmp) == 1
        # The queued task waits for the worker.
        q = ec2.describe_import_image_tasks(ImportTaskIds=[queued])["ImportImageTasks"][0]
        assert (q["Status"], q["StatusMessage"], q["Progress"]) == ("active", "pending", "2")
        # The AMI being built is nowhere to be seen.
        assert ec2.describe_images()["Images"] == []

        r = ec2.cancel_import_task(ImportTaskId=tid, CancelReason="changed my mind")
        assert r == {"ImportTaskId": tid, "PreviousState": "active", "State": "deleting",
                     "ResponseMetadata": r["ResponseMetadata"]}
        t, _ = wait_task(ec2, tid)
        assert (t["Status"], t["StatusMessage"]) == ("deleted", "changed my mind")
        wait_for(lambda: not pid_alive(pid), what="qemu-img to go")
        # The next task, queued or started by now, cancels too; the default reason.
        ec2.cancel_import_task(ImportTaskId=queued)
        t, _ = wait_task(ec2, queued)
        assert (t["Status"], t["StatusMessage"]) == ("deleted", "Cancelled by the user")
        assert snapdir_files(h) == []
        with h.db() as db:
            assert db.execute("SELECT count(*) FROM images").fetchone() == (0,)

        os.unlink(wrap / "hold")
        t_done = import_ok(ec2, TINY)[0]
        done = t_done["ImportTaskId"]
        # The name an unfinished import will give its AMI is taken, without
        # telling that AMI's id.
        (wrap / "hold").write_text("")
        busy = start_import(ec2, TINY)["ImportTaskId"]
        with pytest.raises(ClientError) as ex:
            register(ec2, busy, t_done["SnapshotDetails"][0]["SnapshotId"])
        with h.db() as db:
            hidden = db.execute("SELECT image_id FROM import_tasks WHERE id = ?", (busy,)).fetchone()[0]
        assert err_code(ex) == "InvalidAMIName.Duplicate" and hidden not in ex.value.response["Error"]["Message"]
        ec2.cancel_import_task(ImportTaskId=busy)
        assert wait_task(ec2, busy)[0]["Status"] == "deleted"
        os.unlink(wrap / "hold")
        for tid_, code in [(tid, "IncorrectState"), (done, "IncorrectState"),
                           ("import-ami-0123456789abcdef0", "InvalidConversionTaskId"),
                           ("import-ami-zz", "InvalidConversionTaskId.Malformed")]:
            with pytest.raises(ClientError) as ex:
                ec2.cancel_import_task(ImportTaskId=tid_)
            assert err_code(ex) == code, tid_
        assert e.sink == []
    finally:
        assert h.stop() == 0
        check_hostd_log(h)


def test_restart_mid_import(state_dir, slow_qemu):
    """kill -9 while qemu-img converts: the converter dies with hostd, the
    next start removes the partial file and the task starts over."""
    wrap, penv = slow_qemu
    h = Hostd(state_dir, config_text(), env=penv)
    ec2 = Env(h).client()
    tid = start_import(ec2, TINY, Description="survives")["ImportTaskId"]
    second = start_import(ec2, TINY)["ImportTaskId"]
    wait_for(lambda: (wrap / "pid").exists(), what="the conversion to start")
    pid = int((wrap / "pid").read_text())
    assert [f for f in snapdir_files(h) if f.endswith(".qcow2.tmp")]
    h.proc.kill()
    h.proc.wait()
    h.log.close()
    wait_for(lambda: not pid_alive(pid), timeout=10, what="qemu-img to die with hostd")
    # Litter from earlier crashes: a temp file and a snapshot file no row owns.
    snapdir = os.path.join(state_dir, "snapshots")
    open(os.path.join(snapdir, "junk.tmp"), "w").close()
    open(os.path.join(snapdir, "snap-0123456789abcdef0.qcow2"), "w").close()
    open(os.path.join(snapdir, "README"), "w").close()

    h = Hostd(state_dir, config_text())
    e = Env(h)
    try:
        ec2 = e.client()
        log = h.read_log()
        assert "%s: interrupted by a restart" % tid in log
        assert "junk.tmp (no snapshot owns it)" in log and "snap-0123456789abcdef0.qcow2 (no snapshot" in log
        for x in (tid, second):
            t, _ = wait_task(ec2, x)
            assert t["Status"] == "completed", t
        t = ec2.describe_import_image_tasks(ImportTaskIds=[tid])["ImportImageTasks"][0]
        assert t["Description"] == "survives"
        snaps = sorted(x["SnapshotDetails"][0]["SnapshotId"] + ".qcow2"
                       for x in ec2.describe_import_image_tasks()["ImportImageTasks"])
        assert snapdir_files(h) == sorted(snaps + ["README"])
        assert len(ec2.describe_images(Owners=["self"])["Images"]) == 2
        assert e.sink == []
    finally:
        assert h.stop() == 0
        check_hostd_log(h)


def test_restart_finishes_a_cancel(state_dir, slow_qemu):
    """A cancel accepted just before a crash (task 'deleting') ends at the
    next start, with the hidden AMI gone."""
    wrap, penv = slow_qemu
    h = Hostd(state_dir, config_text(), env=penv)
    ec2 = Env(h).client()
    tid = start_import(ec2, TINY)["ImportTaskId"]
    wait_for(lambda: (wrap / "pid").exists(), what="the conversion to start")
    h.proc.kill()
    h.proc.wait()
    h.log.close()
    with h.db() as db:
        db.execute("UPDATE import_tasks SET status = 'deleting', status_message = 'gone' WHERE id = ?", (tid,))
    h = Hostd(state_dir, config_text())
    e = Env(h)
    try:
        ec2 = e.client()
        t = ec2.describe_import_image_tasks(ImportTaskIds=[tid])["ImportImageTasks"][0]
        assert (t["Status"], t["StatusMessage"]) == ("deleted", "gone")
        assert snapdir_files(h) == []
        with h.db() as db:
            assert db.execute("SELECT count(*) FROM images").fetchone() == (0,)
        assert e.sink == []
    finally:
        assert h.stop() == 0
        check_hostd_log(h)


# ---- RegisterImage ----

@pytest.fixture
def snap(ec2):
    t, _ = import_ok(ec2, TINY)
    return t["SnapshotDetails"][0]["SnapshotId"]


def test_register_image(env, ec2, snap):
    st, body = raw_call(env, "RegisterImage", {
        "Name": "my-ami (v1) [test] it's/ok@x_y", "Description": "registered", "RootDeviceName": "/dev/xvda",
        "BlockDeviceMapping.1.DeviceName": "/dev/xvda", "BlockDeviceMapping.1.Ebs.SnapshotId": snap,
        "BlockDeviceMapping.1.Ebs.VolumeSize": "4", "BlockDeviceMapping.1.Ebs.DeleteOnTermination": "false",
        "BlockDeviceMapping.1.Ebs.VolumeType": "gp2", "VirtualizationType": "hvm", "Architecture": "x86_64",
        "BootMode": "uefi", "ImdsSupport": "v2.0", "EnaSupport": "false",
        "TagSpecification.1.ResourceType": "image", "TagSpecification.1.Tag.1.Key": "Name",
        "TagSpecification.1.Tag.1.Value": "mine"})
    assert st == 200, body
    ami = re.search(rb"<imageId>(ami-[0-9a-f]{17})</imageId>", body).group(1).decode()
    img = ec2.describe_images(ImageIds=[ami])["Images"][0]
    assert img["Name"] == "my-ami (v1) [test] it's/ok@x_y" and img["Description"] == "registered"
    assert img["State"] == "available" and img["RootDeviceName"] == "/dev/xvda"
    assert img["BlockDeviceMappings"] == [{"DeviceName": "/dev/xvda", "Ebs": {
        "DeleteOnTermination": False, "SnapshotId": snap, "VolumeSize": 4, "VolumeType": "gp2",
        "Encrypted": False}}]
    assert (img["BootMode"], img["ImdsSupport"], img["EnaSupport"]) == ("uefi", "v2.0", False)
    assert img["Tags"] == [{"Key": "Name", "Value": "mine"}]
    assert img["Public"] is False and img["ImageType"] == "machine" and img["Architecture"] == "x86_64"
    # Several AMIs may share a snapshot; defaults: the snapshot's size, gp3,
    # deleted on termination, one mapping = the root.
    ami2 = ec2.register_image(Name="second", BlockDeviceMappings=[
        {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snap}}])["ImageId"]
    img2 = ec2.describe_images(ImageIds=[ami2])["Images"][0]
    assert img2["RootDeviceName"] == "/dev/sda1" and "BootMode" not in img2 and "ImdsSupport" not in img2
    assert img2["BlockDeviceMappings"][0]["Ebs"] == {"DeleteOnTermination": True, "SnapshotId": snap,
                                                     "VolumeSize": 1, "VolumeType": "gp3", "Encrypted": False}
    assert img2["EnaSupport"] is True
    # Names are unique per account among registered AMIs.
    with pytest.raises(ClientError) as e:
        register(ec2, "second", snap)
    assert err_code(e) == "InvalidAMIName.Duplicate" and ami2 in e.value.response["Error"]["Message"]


def test_register_image_errors(env, ec2, snap, tmp_path):
    big = import_ok(ec2, raw_disk(tmp_path / "big.raw", 3 * GIB), "raw")[0]["SnapshotDetails"][0]["SnapshotId"]
    bdm = [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snap}}]
    cases = [
        ({"Name": "ab", "BlockDeviceMappings": bdm}, "InvalidAMIName.Malformed"),
        ({"Name": "x" * 129, "BlockDeviceMappings": bdm}, "InvalidAMIName.Malformed"),
        ({"Name": "a:b:c", "BlockDeviceMappings": bdm}, "InvalidAMIName.Malformed"),
        ({"Name": "caf\u00e9", "BlockDeviceMappings": bdm}, "InvalidAMIName.Malformed"),
        ({"Name": "", "BlockDeviceMappings": bdm}, "MissingParameter"),
        ({"Name": "ok-name"}, "MissingParameter"),
        ({"Name": "ok-name", "ImageLocation": "bucket/image.manifest.xml"}, "UnsupportedOperation"),
        ({"Name": "ok-name", "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}]},
         "InvalidSnapshot.NotFound"),
        ({"Name": "ok-name", "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-xyz"}}]},
         "InvalidSnapshotID.Malformed"),
        ({"Name": "ok-name", "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}]},
         "MissingParameter"),
        ({"Name": "ok-name", "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": big, "VolumeSize": 2}}]},
         "InvalidBlockDeviceMapping"),
        ({"Name": "ok-name", "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snap, "VolumeSize": 16385}}]},
         "InvalidParameterValue"),
        ({"Name": "ok-name", "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snap, "VolumeType": "io1"}}]},
         "UnsupportedOperation"),
        ({"Name": "ok-name", "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snap, "VolumeType": "st1"}}]},
         "InvalidBlockDeviceMapping"),
        ({"Name": "ok-name", "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snap, "Encrypted": True}}]},
         "UnsupportedOperation"),
        ({"Name": "ok-name", "BlockDeviceMappings": [{"DeviceName": "/dev/hda", "Ebs": {"SnapshotId": snap}}]},
         "InvalidParameterValue"),
        ({"Name": "ok-name", "RootDeviceName": "/dev/sda1", "BlockDeviceMappings": bdm}, "InvalidBlockDeviceMapping"),
        ({"Name": "ok-name", "BlockDeviceMappings": bdm + [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snap}}]},
         "InvalidBlockDeviceMapping"),
        ({"Name": "ok-name", "RootDeviceName": "/dev/xvda",
          "BlockDeviceMappings": bdm + [{"DeviceName": "/dev/xvdb", "Ebs": {"SnapshotId": snap}}]}, "UnsupportedOperation"),
        ({"Name": "ok-name", "BlockDeviceMappings": bdm, "Architecture": "arm64"}, "InvalidParameterValue"),
        ({"Name": "ok-name", "BlockDeviceMappings": bdm, "VirtualizationType": "paravirtual"}, "InvalidParameterValue"),
        ({"Name": "ok-name", "BlockDeviceMappings": bdm, "BootMode": "bios"}, "InvalidParameterValue"),
        ({"Name": "ok-name", "BlockDeviceMappings": bdm, "ImdsSupport": "v1.0"}, "InvalidParameterValue"),
        ({"Name": "ok-name", "BlockDeviceMappings": bdm, "Description": "d" * 256}, "InvalidParameterValue"),
    ]
    for kw, code in cases:
        with pytest.raises(ClientError) as e:
            ec2.register_image(**kw)
        assert err_code(e) == code, kw
    # Tags for anything but the image are refused.
    st, body = raw_call(env, "RegisterImage", {
        "Name": "ok-name", "BlockDeviceMapping.1.DeviceName": "/dev/xvda", "BlockDeviceMapping.1.Ebs.SnapshotId": snap,
        "TagSpecification.1.ResourceType": "snapshot", "TagSpecification.1.Tag.1.Key": "a"})
    assert st == 400 and b"<Code>InvalidParameterValue</Code>" in body
    assert len(ec2.describe_images()["Images"]) == 2  # the two imports
    # Exactly the snapshot's size is fine.
    register(ec2, "exact", big, ebs={"VolumeSize": 3})


# ---- DescribeImages ----

def test_describe_images_filters_owners_pages(env, ec2, snap):
    amis = {}
    for i in range(7):
        amis["web-%d" % i] = register(ec2, "web-%d" % i, snap, device="/dev/sda1" if i % 2 else "/dev/xvda",
                                      ebs={"VolumeSize": 1 + i, "VolumeType": "gp2" if i < 3 else "gp3",
                                           "DeleteOnTermination": i != 0},
                                      Description="even" if i % 2 == 0 else "odd")
        ec2.create_tags(Resources=[amis["web-%d" % i]], Tags=[{"Key": "idx", "Value": str(i)}])
    imported = [i["ImageId"] for i in ec2.describe_images()["Images"] if i["Name"].startswith("import-ami-")]
    assert len(imported) == 1

    def names(**kw):
        return sorted(i["Name"] for i in ec2.describe_images(**kw)["Images"] if not i["Name"].startswith("import"))

    def f(name, *values):
        return {"Filters": [{"Name": name, "Values": list(values)}]}

    everything = sorted(amis)
    assert names() == everything
    assert names(**f("name", "web-?")) == everything
    assert names(**f("name", "web-1", "web-3")) == ["web-1", "web-3"]
    assert names(**f("description", "even")) == ["web-0", "web-2", "web-4", "web-6"]
    assert names(**f("tag:idx", "5")) == ["web-5"]
    assert names(**f("tag-key", "idx")) == everything
    assert names(**f("tag-value", "6")) == ["web-6"]
    assert names(**f("image-id", amis["web-2"])) == ["web-2"]
    assert names(**f("block-device-mapping.volume-size", "3", "4")) == ["web-2", "web-3"]
    assert names(**f("block-device-mapping.volume-type", "gp2")) == ["web-0", "web-1", "web-2"]
    assert names(**f("block-device-mapping.delete-on-termination", "false")) == ["web-0"]
    assert names(**f("block-device-mapping.device-name", "/dev/sda1")) == ["web-1", "web-3", "web-5"]
    assert names(**f("root-device-name", "/dev/xvda")) == ["web-0", "web-2", "web-4", "web-6"]
    assert names(**f("block-device-mapping.snapshot-id", snap)) == everything
    assert names(**f("block-device-mapping.encrypted", "false")) == everything
    for name, value in [("architecture", "x86_64"), ("state", "available"), ("is-public", "false"),
                        ("image-type", "machine"), ("root-device-type", "ebs"), ("virtualization-type", "hvm"),
                        ("hypervisor", "xen"), ("owner-id", ACCOUNT_A[0]), ("ena-support", "true"),
                        ("manifest-location", ACCOUNT_A[0] + "/web-*"), ("creation-date", "20*Z")]:
        assert names(**f(name, value)) == everything, name
    for name, value in [("is-public", "true"), ("platform", "windows"), ("kernel-id", "*"), ("owner-alias", "amazon"),
                        ("state", "pending")]:
        assert names(**f(name, value)) == [], name
    with pytest.raises(ClientError) as e:
        ec2.describe_images(**f("bogus", "x"))
    assert err_code(e) == "InvalidParameterValue"

    # Owners and ExecutableBy: only one's own AMIs exist here.
    assert names(Owners=["self"]) == everything
    assert names(Owners=[ACCOUNT_A[0]]) == everything
    assert names(Owners=["amazon"]) == [] and names(Owners=[ACCOUNT_B[0]]) == []
    assert names(Owners=["amazon", "self"]) == everything
    assert names(ExecutableUsers=["self"]) == everything
    assert names(ExecutableUsers=["all"]) == []
    assert names(Owners=["self"], ExecutableUsers=["all"]) == []
    assert names(IncludeDeprecated=True) == everything
    for kw in [{"Owners": ["nobody"]}, {"ExecutableUsers": ["12345"]}]:
        with pytest.raises(ClientError) as e:
            ec2.describe_images(**kw)
        assert err_code(e) == "InvalidUserID.Malformed", kw

    # ImageIds: all must exist.
    assert names(ImageIds=[amis["web-1"], amis["web-4"]]) == ["web-1", "web-4"]
    for ids, code in [(["ami-xyz"], "InvalidAMIID.Malformed"), (["snap-12345678"], "InvalidAMIID.Malformed"),
                      ([amis["web-1"], "ami-0123456789abcdef0"], "InvalidAMIID.NotFound")]:
        with pytest.raises(ClientError) as e:
            ec2.describe_images(ImageIds=ids)
        assert err_code(e) == code, ids

    # Pages of 5, in id order, with filters applied before paging (Debian's
    # boto3 predates DescribeImages paging: raw requests).
    seen, token, pages = [], None, 0
    while True:
        params = {"MaxResults": "5", "Filter.1.Name": "name", "Filter.1.Value.1": "web-*"}
        if token:
            params["NextToken"] = token
        st, body = raw_call(env, "DescribeImages", params)
        assert st == 200, body
        page = re.findall(rb"<item><imageId>(ami-[0-9a-f]{17})</imageId>", body)
        assert 0 < len(page) <= 5
        seen += [x.decode() for x in page]
        pages += 1
        m = re.search(rb"<nextToken>([^<]+)</nextToken>", body)
        if not m:
            break
        token = m.group(1).decode()
    assert seen == sorted(amis.values()) and pages == 2
    for params, code in [({"MaxResults": "4"}, "InvalidParameterValue"), ({"MaxResults": "1001"}, "InvalidParameterValue"),
                         ({"NextToken": "x"}, "InvalidPaginationToken")]:
        st, body = raw_call(env, "DescribeImages", params)
        assert st == 400 and ("<Code>%s</Code>" % code).encode() in body, params


def test_describe_image_attribute(ec2, snap):
    ami = register(ec2, "attrs", snap, Description="hello", BootMode="uefi", ImdsSupport="v2.0")
    plain = register(ec2, "plain", snap)

    def attr(image, name):
        r = ec2.describe_image_attribute(ImageId=image, Attribute=name)
        assert r["ImageId"] == image
        return r

    assert attr(ami, "description")["Description"] == {"Value": "hello"}
    assert attr(ami, "bootMode")["BootMode"] == {"Value": "uefi"}
    assert attr(ami, "imdsSupport")["ImdsSupport"] == {"Value": "v2.0"}
    assert attr(plain, "bootMode").get("BootMode", {}) == {}
    assert attr(plain, "description").get("Description", {}) == {}
    assert attr(ami, "launchPermission").get("LaunchPermissions", []) == []
    assert attr(ami, "productCodes").get("ProductCodes", []) == []
    assert attr(ami, "kernel").get("KernelId", {}) == {}
    bdm = attr(ami, "blockDeviceMapping")["BlockDeviceMappings"]
    assert bdm[0]["DeviceName"] == "/dev/xvda" and bdm[0]["Ebs"]["SnapshotId"] == snap
    for image, name, code in [(ami, "color", "InvalidParameterValue"), ("ami-xyz", "description", "InvalidAMIID.Malformed"),
                              ("ami-0123456789abcdef0", "description", "InvalidAMIID.NotFound")]:
        with pytest.raises(ClientError) as e:
            ec2.describe_image_attribute(ImageId=image, Attribute=name)
        assert err_code(e) == code, (image, name)


# ---- DeregisterImage ----

def test_deregister(env, ec2, snap):
    a = register(ec2, "a-ami", snap)
    b = register(ec2, "b-ami", snap)
    ec2.create_tags(Resources=[b], Tags=[{"Key": "k", "Value": "v"}])
    ec2.deregister_image(ImageId=b)
    assert b not in [i["ImageId"] for i in ec2.describe_images()["Images"]]
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [b]}])["Tags"] == []
    for call in [lambda: ec2.describe_images(ImageIds=[b]), lambda: ec2.deregister_image(ImageId=b),
                 lambda: ec2.describe_image_attribute(ImageId=b, Attribute="description"),
                 lambda: ec2.create_tags(Resources=[b], Tags=[{"Key": "x", "Value": "y"}])]:
        with pytest.raises(ClientError) as e:
            call()
        assert err_code(e) == "InvalidAMIID.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.deregister_image(ImageId="ami-nothex")
    assert err_code(e) == "InvalidAMIID.Malformed"
    # The snapshot stays (instances' root volumes are overlays on it); its
    # name is free again.
    f = snapshot_file(env.hostd, snap)
    assert os.path.exists(f)
    register(ec2, "b-ami", snap)

    # DeleteAssociatedSnapshots (newer than Debian's boto3: raw requests).
    def dereg(image):
        st, body = raw_call(env, "DeregisterImage", {"ImageId": image, "DeleteAssociatedSnapshots": "true"})
        assert st == 200, body
        return re.search(rb"<returnCode>(.*?)</returnCode>", body).group(1).decode()

    assert dereg(a) == "skipped"  # another AMI still uses it
    assert os.path.exists(f)
    imported = [i["ImageId"] for i in ec2.describe_images(Filters=[{"Name": "name", "Values": ["import-*"]}])["Images"]]
    ec2.deregister_image(ImageId=imported[0])
    last = ec2.describe_images()["Images"][0]["ImageId"]
    assert dereg(last) == "success"
    assert not os.path.exists(f) and snapdir_files(env.hostd) == []
    assert ec2.describe_images()["Images"] == []
    with pytest.raises(ClientError) as e:
        register(ec2, "again", snap)
    assert err_code(e) == "InvalidSnapshot.NotFound"


# ---- Accounts ----

def test_accounts_isolated(env, ec2, ec2b, snap):
    ami = register(ec2, "a-only", snap)
    tid = ec2.describe_import_image_tasks()["ImportImageTasks"][0]["ImportTaskId"]
    assert ec2b.describe_images()["Images"] == []
    assert ec2b.describe_images(Owners=[ACCOUNT_A[0]])["Images"] == []
    assert ec2b.describe_import_image_tasks()["ImportImageTasks"] == []
    calls = [
        (lambda: ec2b.describe_images(ImageIds=[ami]), "InvalidAMIID.NotFound"),
        (lambda: ec2b.deregister_image(ImageId=ami), "InvalidAMIID.NotFound"),
        (lambda: ec2b.describe_image_attribute(ImageId=ami, Attribute="description"), "InvalidAMIID.NotFound"),
        (lambda: ec2b.create_tags(Resources=[ami], Tags=[{"Key": "x", "Value": "y"}]), "InvalidAMIID.NotFound"),
        (lambda: register(ec2b, "steal", snap), "InvalidSnapshot.NotFound"),
        (lambda: ec2b.describe_import_image_tasks(ImportTaskIds=[tid]), "InvalidConversionTaskId"),
        (lambda: ec2b.cancel_import_task(ImportTaskId=tid), "InvalidConversionTaskId"),
        (lambda: ec2b.create_tags(Resources=[tid], Tags=[{"Key": "x", "Value": "y"}]), "InvalidConversionTaskId"),
    ]
    for call, code in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert err_code(e) == code
    # The same AMI name in another account is fine.
    b_snap = import_ok(ec2b, TINY)[0]["SnapshotDetails"][0]["SnapshotId"]
    register(ec2b, "a-only", b_snap)
    assert [i["Name"] for i in ec2.describe_images(Filters=[{"Name": "name", "Values": ["a-only"]}])["Images"]] == ["a-only"]
    assert len(ec2.describe_images()["Images"]) == 2


# ---- The AWS CLI ----

def test_aws_cli(env, tmp_path):
    raw = str(tmp_path / "disk.raw")
    qemu_img("convert", "-O", "raw", TINY, raw)
    r = env.aws("import-image", "--description", "from the cli",
                "--disk-containers", "Format=RAW,Url=%s" % url(raw),
                "--tag-specifications", "ResourceType=import-image-task,Tags=[{Key=via,Value=cli}]")
    tid = r["ImportTaskId"]
    assert r["Status"] == "active"
    deadline = time.time() + 60
    while True:
        t = env.aws("describe-import-image-tasks", "--import-task-ids", tid)["ImportImageTasks"][0]
        if t["Status"] != "active":
            break
        assert time.time() < deadline
        time.sleep(0.2)
    assert t["Status"] == "completed" and t["SnapshotDetails"][0]["Format"] == "RAW"
    imgs = env.aws("describe-images", "--owners", "self", "--filters", "Name=description,Values=from the cli")["Images"]
    assert [i["ImageId"] for i in imgs] == [t["ImageId"]]
    snap = t["SnapshotDetails"][0]["SnapshotId"]
    ami = env.aws("register-image", "--name", "cli-ami", "--root-device-name", "/dev/xvda",
                  "--block-device-mappings", "DeviceName=/dev/xvda,Ebs={SnapshotId=%s,VolumeSize=2}" % snap,
                  "--virtualization-type", "hvm", "--architecture", "x86_64", "--imds-support", "v2.0")["ImageId"]
    a = env.aws("describe-image-attribute", "--image-id", ami, "--attribute", "imdsSupport")
    assert a["ImdsSupport"] == {"Value": "v2.0"}
    env.aws("deregister-image", "--image-id", ami)
    p = env.aws("describe-images", "--image-ids", ami, check=False)
    assert p.returncode != 0 and "InvalidAMIID.NotFound" in p.stderr
    p = env.aws("import-image", "--disk-containers", "Url=s3://bucket/key.vmdk", check=False)
    assert p.returncode != 0 and "UnsupportedOperation" in p.stderr


def test_make_run_helper_is_idempotent(env, ec2, tmp_path):
    """scripts/tiny_ami.py (make run): imports once, then reuses the AMI while
    the file is unchanged; a changed file is imported again."""
    def helper(image):
        p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "tiny_ami.py"),
                            "--endpoint", env.hostd.endpoint, "--state", env.hostd.state_dir,
                            "--config", env.hostd.config_path, image], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        m = re.fullmatch(r"tiny AMI: (ami-[0-9a-f]{17})\n", p.stdout)
        assert m, p.stdout
        return m.group(1)

    copy = tmp_path / "tiny.qcow2"
    copy.write_bytes(open(TINY, "rb").read())
    first = helper(str(copy))
    assert helper(str(copy)) == first
    assert len(ec2.describe_import_image_tasks()["ImportImageTasks"]) == 1
    img = ec2.describe_images(ImageIds=[first])["Images"][0]
    assert img["State"] == "available" and img["Description"].startswith("hostd tiny test AMI, sha256 ")
    # Deregistered, or rebuilt with other contents: imported again.
    ec2.deregister_image(ImageId=first)
    second = helper(str(copy))
    assert second != first
    with open(copy, "r+b") as f:
        f.seek(0, 2)
        f.write(b"\0" * 512)
    assert helper(str(copy)) not in (first, second)
    assert len(ec2.describe_import_image_tasks()["ImportImageTasks"]) == 3
