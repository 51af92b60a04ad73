"""The opt-in uplink: a guest with a public address reaches a "real
network" through hostd-public and the host, masqueraded; nothing on that
network can open a connection to the guest. The host is played by a
namespace this test creates (public_uplink_netns), whose interface wan0
leads to another namespace, "world" (203.0.113.0/24, TEST-NET-3), so no
traffic leaves namespaces the test made and the real host's firewall is
untouched."""
import os
import shutil
import subprocess
import tempfile

from conftest import Env, Hostd, config_text
from guests import import_tiny, kill_guests, wait_marker, wait_state

HOSTSIM = "hostd-test-host%d" % (os.getpid() % 10000)
WORLD = "hostd-test-world%d" % (os.getpid() % 10000)

SERVER = r"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.1", 8080)); s.listen(8)
print("ready", flush=True)
while True:
    c, a = s.accept()
    c.sendall(("hello-from-world-to-%s\n" % a[0]).encode()); c.close()
"""

GUEST = r"""#!/bin/sh
(
n=0
while [ $n -lt 120 ]; do
  n=$((n+1))
  r=$(echo | nc -w 2 203.0.113.1 8080 2>/dev/null)
  echo "HOSTD-TEST: out ${r:-none}"
  case "$r" in hello*) break;; esac
  sleep 1
done
nc -ll -p 8080 -e /bin/echo inbound &
echo "HOSTD-TEST: listening"
) &
"""


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True)


def test_guest_reaches_the_uplink_masqueraded():
    d = tempfile.mkdtemp(prefix="hostd-uplink-")
    state = os.path.join(d, "state")
    srv = None
    h = None
    try:
        for n in (HOSTSIM, WORLD):
            sh("ip", "netns", "add", n)
        sh("ip", "-n", HOSTSIM, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", WORLD)
        sh("ip", "-n", HOSTSIM, "addr", "add", "203.0.113.2/24", "dev", "wan0")
        sh("ip", "-n", WORLD, "addr", "add", "203.0.113.1/24", "dev", "eth0")
        for n, dev in ((HOSTSIM, "wan0"), (WORLD, "eth0"), (HOSTSIM, "lo"), (WORLD, "lo")):
            sh("ip", "-n", n, "link", "set", dev, "up")
        srv = subprocess.Popen(["ip", "netns", "exec", WORLD, "/usr/bin/python3", "-c", SERVER],
                               stdout=subprocess.PIPE, text=True)
        assert srv.stdout.readline().strip() == "ready"

        cfg = config_text().replace("[host]\nregion = us-east-1\n",
                                    "[host]\nregion = us-east-1\npublic_uplink = wan0\n"
                                    "public_uplink_netns = %s\n" % HOSTSIM)
        h = Hostd(state, cfg)
        e = Env(h)
        ec2 = e.client()
        ami = import_tiny(ec2)
        web = ec2.create_security_group(GroupName="in8080", Description="8080 from anywhere")["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        i = ec2.run_instances(ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1,
                              SecurityGroupIds=[web], UserData=GUEST)["Instances"][0]
        iid, pub = i["InstanceId"], i["PublicIpAddress"]
        wait_state(ec2, [iid], "running")
        # out: the world sees the host's address (masqueraded), not the pool's
        text = wait_marker(ec2, iid, "HOSTD-TEST: listening", timeout=300)
        assert "HOSTD-TEST: out hello-from-world-to-203.0.113.2" in text, text[-2000:]
        # in: the world cannot open a connection to the public address, even
        # where the group allows it
        p = subprocess.run(["ip", "netns", "exec", WORLD, "/usr/bin/python3", "-c",
                            "import socket; s = socket.socket(); s.settimeout(3)\n"
                            "try:\n s.connect(('%s', 8080)); print('open')\n"
                            "except OSError as e: print('closed')" % pub],
                           capture_output=True, text=True, timeout=30)
        assert p.stdout.strip() == "closed"
        ec2.terminate_instances(InstanceIds=[iid])
        wait_state(ec2, [iid], "terminated", timeout=60)
        assert e.sink == [], e.sink
    finally:
        if h:
            h.stop()
        kill_guests(state)
        if srv:
            srv.kill()
            srv.wait()
        for n in (HOSTSIM, WORLD):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)
