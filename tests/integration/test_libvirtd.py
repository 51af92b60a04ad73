"""hostd against a running libvirtd (libvirt_uri = qemu:///system) instead of
its embedded driver. The test starts virtlogd and libvirtd itself when they
are not running (no systemd here) and stops what it started."""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import Env, Hostd, config_text
from guests import TINY_AMI, import_tiny, kill_guests, wait_marker, wait_state

LIBVIRTD = "/usr/sbin/libvirtd"
VIRTLOGD = "/usr/sbin/virtlogd"
SOCK = "/run/libvirt/libvirt-sock"

pytestmark = pytest.mark.skipif(not (os.path.exists(LIBVIRTD) and os.path.exists(TINY_AMI) and os.getuid() == 0),
                                reason="needs root, libvirtd and the tiny AMI")


def running(name):
    return subprocess.run(["pgrep", "-x", name], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def libvirtd():
    started = []
    for name, path in (("virtlogd", VIRTLOGD), ("libvirtd", LIBVIRTD)):
        if not running(name):
            subprocess.check_call([path, "--daemon"])
            started.append(name)
    for _ in range(300):
        if os.path.exists(SOCK) and subprocess.run(["virsh", "-c", "qemu:///system", "version"],
                                                   capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("libvirtd did not come up")
    yield
    for name in reversed(started):
        subprocess.run(["pkill", "-x", name])


def test_qemu_system(libvirtd):
    d = tempfile.mkdtemp(prefix="hostd-sys-")
    # QEMU runs as libvirt-qemu under libvirtd: it must be able to reach
    # the volumes (libvirt relabels the files themselves).
    os.chmod(d, 0o755)
    cfg = config_text().replace("[host]\n", "[host]\nlibvirt_uri = qemu:///system\nstop_timeout_s = 20\n")
    e = Env(Hostd(os.path.join(d, "state"), cfg))
    try:
        assert "connected to qemu:///system" in e.hostd.read_log()
        g = e.client()
        ami = import_tiny(g)
        iid = g.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        wait_state(g, [iid], "running")
        # the domain lives in the system daemon, visible to virsh
        out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--name"], capture_output=True, text=True).stdout
        assert iid in out.split()
        wait_marker(g, iid, "HOSTD-TINY: ready")
        g.stop_instances(InstanceIds=[iid])
        wait_state(g, [iid], "stopped", timeout=60)
        g.terminate_instances(InstanceIds=[iid])
        wait_state(g, [iid], "terminated", timeout=60)
        out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True,
                             text=True).stdout
        assert iid not in out.split()
    finally:
        rc = e.hostd.stop()
        log = e.hostd.read_log()
        kill_guests(e.hostd.state_dir)
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, log[-4000:]
    assert "AddressSanitizer" not in log and "runtime error" not in log, log
    assert e.sink == [], "\n".join(map(str, e.sink))
