"""A guest stand-in: a network namespace plugged into an instance's subnet
bridge, inside its VPC namespace, exactly where a guest's tap would be, with
one of the instance's private addresses. hostd attributes whatever it sends
to that instance (by VPC and source address, as for the guest itself), so
host-side programs (curl, wrk, botocore) can talk to the metadata service as
the instance: a guest under TCG is too slow to drive load or run botocore.

The address is a secondary private IP assigned to the instance's primary ENI
through the API (AssignPrivateIpAddresses), so it never collides with the
address the guest itself uses. The stand-in's own port is not a tap, so the
instance's anti-spoofing rules do not apply to it; that is the point: it is
a privileged test vantage, not a guest."""
import ipaddress
import os
import random
import subprocess
import time


def _sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


class Standin:
    def __init__(self, ec2, db, instance_id, ip=None):
        """ec2: a boto3 client of the instance's account; db: a sqlite3
        connection to hostd's state (Hostd.db()). ip: one of the ENI's
        addresses to use; by default a new secondary address."""
        inst = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        eni = [n for n in inst["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0][0]
        if ip is None:
            before = {a["PrivateIpAddress"] for a in eni["PrivateIpAddresses"]}
            ec2.assign_private_ip_addresses(NetworkInterfaceId=eni["NetworkInterfaceId"],
                                            SecondaryPrivateIpAddressCount=1)
            now = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni["NetworkInterfaceId"]])
            after = {a["PrivateIpAddress"] for a in now["NetworkInterfaces"][0]["PrivateIpAddresses"]}
            (ip,) = after - before
        row = db.execute("SELECT v.ns, s.bridge, s.cidr FROM enis e JOIN subnets s ON s.id = e.subnet_id "
                         "JOIN vpcs v ON v.id = e.vpc_id WHERE e.id = ?", (eni["NetworkInterfaceId"],)).fetchone()
        assert row, "ENI %s not in the store" % eni["NetworkInterfaceId"]
        self.vpc_ns, self.bridge, cidr = row
        net = ipaddress.ip_network(cidr)
        self.ip = ip
        self.router = str(net.network_address + 1)
        self.instance_id = instance_id
        self.eni_id = eni["NetworkInterfaceId"]
        tag = "%05x" % random.randrange(1 << 20)
        self.ns = "sti-" + tag
        inner, outer = "sti%si" % tag, "sti%so" % tag
        try:
            _sh("ip", "netns", "add", self.ns)
            _sh("ip", "-n", self.ns, "link", "set", "lo", "up")
            _sh("ip", "link", "add", inner, "netns", self.ns, "type", "veth", "peer", outer, "netns", self.vpc_ns)
            _sh("ip", "-n", self.vpc_ns, "link", "set", outer, "master", self.bridge, "up")
            _sh("ip", "-n", self.ns, "addr", "add", "%s/%d" % (ip, net.prefixlen), "dev", inner)
            _sh("ip", "-n", self.ns, "link", "set", inner, "up")
            _sh("ip", "-n", self.ns, "route", "add", "default", "via", self.router)
        except subprocess.CalledProcessError:
            self.close()
            raise
        self._wait_router()

    def _wait_router(self, timeout=10):
        # The router answers nothing from a subnet but DHCP, DNS and the
        # metadata service (hd-in), so readiness is a TCP connect to it.
        deadline = time.time() + timeout
        probe = ("import socket,sys\ns=socket.socket();s.settimeout(1)\n"
                 "sys.exit(s.connect_ex(('169.254.169.254', 80)))")
        while time.time() < deadline:
            if self.run(["/usr/bin/python3", "-c", probe], check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise AssertionError("stand-in %s cannot reach the metadata service via %s" % (self.ns, self.router))

    def argv(self, argv):
        """argv run inside the stand-in's namespace."""
        return ["ip", "netns", "exec", self.ns] + list(argv)

    def run(self, argv, check=True, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(self.argv(argv), check=check, **kw)

    def python(self, code, *args, **kw):
        """Debian's python3 (its botocore) in the namespace, with no AWS_*
        variables or config files of the host's leaking in."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        return self.run(["/usr/bin/python3", "-c", code] + list(args), env=env, **kw)

    def close(self):
        # deleting the namespace deletes the veth pair, both ends
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
