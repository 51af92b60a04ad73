"""The Debian AMI launched through hostd (issue #5, Tests): cloud-init in
build/ami/debian-12.qcow2 must take everything from hostd, with no seed
disk. The test imports the AMI, creates a key pair and a security group
opening port 22, and runs a t3.small in the default VPC with a `#!/bin/sh`
user-data script and HttpTokens=required (so cloud-init must use IMDSv2).
The proof is read on the console through GetConsoleOutput: the script
prints what cloud-init made of the instance (datasource, instance-id,
hostname, the default user's authorized_keys) and cloud-init's own final
message names its datasource. Then the key pair's private key logs in
over ssh on the instance's public IP, from a namespace this test plugs
into hostd's br-public (as test_addresses.py does); it plays the
internet, no traffic leaves the host.

Run by `make debian-hostd` (after `make debian-ami`); about 4-6 minutes
under TCG, nearly all of it the guest's boot."""
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from integration_conftest import ACCOUNT_A, ROOT, Env, Hostd, config_text
from guests import console, kill_guests, wait_state

DEBIAN_AMI = os.environ.get("DEBIAN_AMI") or os.path.join(ROOT, "build", "ami", "debian-12.qcow2")
BOOT_TIMEOUT = int(os.environ.get("BOOT_TIMEOUT", "480"))

pytestmark = pytest.mark.skipif(not os.path.exists(DEBIAN_AMI), reason="make debian-ami first")

# The test's own "internet" (names distinct from test_addresses.py's, so
# both may run at once): a veth whose peer is a port of br-public.
# hostd-public is one namespace per host, shared by every hostd running on
# it, and each hostd hands out the same first addresses of its pool: with
# the default pool, another test's VPC may answer ARP for "our" public IP.
# This hostd gets a pool of its own (TEST-NET-3).
PUBLIC_CIDR = "203.0.113.0/24"
PUBLIC_GW = "203.0.113.1/24"
INET_NS = "hostd-e2e-deb"
INET_LINK = "inet-e2e-deb"
INET_ADDR = "203.0.113.249/24"

# Runs in cloud-final (scripts_user), after the ssh module wrote the
# default user's keys. The proof goes to the serial console in one write,
# so other console output cannot split a line.
USER_DATA = r"""#!/bin/sh
N=%(nonce)s
ak=/home/debian/.ssh/authorized_keys
out=$(
  echo "HOSTD-DEB $N instance-id=$(cat /var/lib/cloud/data/instance-id)"
  echo "HOSTD-DEB $N datasource=$(cat /var/lib/cloud/instance/datasource)"
  echo "HOSTD-DEB $N ds-identify=$(grep '^datasource_list' /run/cloud-init/cloud.cfg)"
  echo "HOSTD-DEB $N cloud-id=$(cloud-id)"
  echo "HOSTD-DEB $N hostname=$(hostname)"
  echo "HOSTD-DEB $N fqdn=$(hostname -f)"
  echo "HOSTD-DEB $N keys=$(grep -c . $ak)"
  echo "HOSTD-DEB $N key=$(cut -d' ' -f1,2 $ak | head -n 1)"
  echo "HOSTD-DEB $N fingerprint=$(ssh-keygen -l -E sha256 -f $ak | head -n 1)"
  echo "HOSTD-DEB $N user=$(id -un)"
  echo "HOSTD-DEB $N done=1"
)
printf '%%s\n' "$out" >/dev/ttyS0
"""


def import_ami(ec2, path, timeout=300):
    """ImportImage of a local qcow2; the AMI id once the task completes."""
    task = ec2.import_image(Description="Debian 12 AMI",
                            DiskContainers=[{"Format": "qcow2", "Url": "file://" + path}])["ImportTaskId"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = ec2.describe_import_image_tasks(ImportTaskIds=[task])["ImportImageTasks"][0]
        if t["Status"] == "completed":
            return t["ImageId"]
        assert t["Status"] == "active", t
        time.sleep(0.5)
    raise AssertionError("import of %s did not complete in %ds" % (path, timeout))


def sh(*argv, timeout=60, check=True):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s: %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def inet_up():
    inet_down()
    for argv in (["ip", "netns", "add", INET_NS],
                 ["ip", "-n", "hostd-public", "link", "add", INET_LINK, "type", "veth", "peer", "name", "eth0",
                  "netns", INET_NS],
                 ["ip", "-n", "hostd-public", "link", "set", INET_LINK, "master", "br-public", "up"],
                 ["ip", "-n", INET_NS, "addr", "add", INET_ADDR, "dev", "eth0"],
                 ["ip", "-n", INET_NS, "link", "set", "eth0", "up"],
                 ["ip", "-n", INET_NS, "link", "set", "lo", "up"]):
        sh(*argv)


def inet_down():
    sh("ip", "-n", "hostd-public", "link", "del", INET_LINK, check=False)
    sh("ip", "netns", "del", INET_NS, check=False)


def pool_down():
    """Our pool's gateway address on br-public (hostd leaves it to the
    namespace, which other hostds may still use)."""
    sh("ip", "-n", "hostd-public", "addr", "del", PUBLIC_GW, "dev", "br-public", check=False)


def proof(text, nonce):
    """The user-data's key=value lines (the last value of each key)."""
    return dict(m.groups() for m in re.finditer(r"HOSTD-DEB %s ([\w-]+)=([^\r\n]*)" % nonce, text))


def wait_console(ec2, iid, want, timeout):
    """Polls GetConsoleOutput until every regex in want matched (each on
    some snapshot: the output is the last 64 KiB, and the boot prints
    more than that). Returns {regex: match} and the last text."""
    found, text = {}, ""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = console(ec2, iid)
        for rx in want:
            m = re.search(rx, text)
            if m:
                found[rx] = m
        if len(found) == len(want):
            return found, text
        time.sleep(2)
    raise AssertionError("not on %s's console after %ds: %s\nlast console output:\n%s"
                         % (iid, timeout, [w for w in want if w not in found], clean(text)[-6000:]))


def clean(text):
    """The serial console without terminal escapes and carriage returns."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")


def test_debian_ami_cloud_init_from_hostd():
    t0 = time.time()
    d = tempfile.mkdtemp(prefix="hostd-e2e-deb-")
    state = os.path.join(d, "state")
    cfg = config_text(accounts=(ACCOUNT_A,)).replace(
        "[host]\nregion = us-east-1\n",
        "[host]\nregion = us-east-1\nstop_timeout_s = 20\npublic_cidr = %s\n" % PUBLIC_CIDR)
    e = Env(Hostd(state, cfg))
    ec2 = e.client()
    try:
        ami = import_ami(ec2, DEBIAN_AMI)
        t_import = time.time() - t0

        kp = ec2.create_key_pair(KeyName="deb-e2e", KeyType="ed25519")
        keyfile = os.path.join(d, "key")
        with open(keyfile, "w") as f:
            f.write(kp["KeyMaterial"])
        os.chmod(keyfile, 0o600)
        pub = sh("ssh-keygen", "-y", "-f", keyfile).stdout.split()[:2]
        assert pub[0] == "ssh-ed25519", pub

        sg = ec2.create_security_group(GroupName="ssh", Description="ssh from anywhere")["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

        nonce = os.urandom(6).hex()
        # HttpTokens=required: cloud-init gets nothing without an IMDSv2 token
        inst = ec2.run_instances(ImageId=ami, InstanceType="t3.small", MinCount=1, MaxCount=1,
                                 KeyName="deb-e2e", SecurityGroupIds=[sg],
                                 MetadataOptions={"HttpTokens": "required"},
                                 UserData=USER_DATA % {"nonce": nonce})["Instances"][0]
        iid = inst["InstanceId"]
        # the default VPC's default subnet: a private DNS name and a public IP
        assert inst["VpcId"] and inst["SubnetId"], inst
        private_dns = inst["PrivateDnsName"]
        assert re.fullmatch(r"ip-\d+-\d+-\d+-\d+\.ec2\.internal", private_dns), private_dns
        public_ip = inst.get("PublicIpAddress")
        assert public_ip, inst
        wait_state(ec2, [iid], "running")
        t_launch = time.time()

        done = r"HOSTD-DEB %s done=1" % nonce
        final = r"Cloud-init v\. \S+ finished at [^\r\n]*Datasource (\S+?)\.? "
        found, text = wait_console(ec2, iid, [done, final], BOOT_TIMEOUT)
        t_boot = time.time() - t_launch
        p = proof(text, nonce)

        # cloud-init's own verdict on the console, and the script's view
        assert found[final].group(1) == "DataSourceEc2Local", found[final].group(0)
        assert p["datasource"].startswith("DataSourceEc2Local"), p
        assert "Ec2" in p["ds-identify"], p
        assert p["cloud-id"] == "aws", p
        # the user-data script ran (as root), with the instance's own id
        assert p["user"] == "root", p
        assert p["instance-id"] == iid, p
        # the hostname is hostd's private DNS name
        assert p["hostname"] == private_dns.split(".")[0], (p, private_dns)
        assert p["fqdn"] in (private_dns, private_dns.split(".")[0]), (p, private_dns)
        # the key pair's public key is the default user's only key
        assert p["keys"] == "1", p
        assert p["key"].split() == pub, (p, pub)
        fp = re.search(r"SHA256:(\S+)", p["fingerprint"])
        assert fp and fp.group(1) == kp["KeyFingerprint"].rstrip("="), (p, kp["KeyFingerprint"])

        # log in with the key pair's private key on the public IP, port 22
        inet_up()
        ssh = ["ip", "netns", "exec", INET_NS, "ssh", "-F", "/dev/null", "-i", keyfile, "-o", "IdentitiesOnly=yes",
               "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "debian@" + public_ip]
        deadline = time.time() + 120
        while True:
            r = sh(*ssh, "hostname; cat /var/lib/cloud/data/instance-id; cloud-init status --wait --long",
                   timeout=150, check=False)
            if r.returncode == 0 or time.time() > deadline:
                break
            time.sleep(3)
        assert r.returncode == 0, "ssh debian@%s: %d %s" % (public_ip, r.returncode, r.stderr)
        lines = r.stdout.splitlines()
        assert lines[0] == private_dns.split(".")[0] and lines[1] == iid, lines
        assert "status: done" in lines, lines
        assert any("DataSourceEc2Local" in x for x in lines), lines
        # cloud-init's log: no Python traceback (what hostd served parsed);
        # warnings are printed for whoever reads the test's output
        r = sh(*ssh, "sudo grep -a -e Traceback -e WARNING /var/log/cloud-init.log || true", timeout=60)
        print("cloud-init.log warnings:\n" + (r.stdout or "(none)\n"), end="")
        assert "Traceback" not in r.stdout, r.stdout
        t_ssh = time.time() - t_launch

        ec2.terminate_instances(InstanceIds=[iid])
        wait_state(ec2, [iid], "terminated", timeout=60)
        print("debian-hostd: import %.0fs, console proof %.0fs after running, ssh %.0fs, total %.0fs"
              % (t_import, t_boot, t_ssh, time.time() - t0))
    except BaseException:
        try:
            print(clean(console(ec2, iid))[-6000:])
        except Exception:  # no instance yet, or hostd gone
            pass
        raise
    finally:
        inet_down()
        if os.environ.get("KEEP_CONSOLE"):  # the whole serial log, for debugging
            for root, _, files in os.walk(os.path.join(state, "instances")):
                if "console.log" in files:
                    shutil.copy(os.path.join(root, "console.log"), os.environ["KEEP_CONSOLE"])
        rc = e.hostd.stop()
        log = e.hostd.read_log()
        kill_guests(state)
        pool_down()
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, "hostd exit %r\n%s" % (rc, log[-5000:])
    assert "runtime error" not in log and "AddressSanitizer" not in log, log
    assert e.sink == [], "responses that do not match the EC2 model:\n" + "\n".join(map(str, e.sink))
