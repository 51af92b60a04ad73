"""The guest stand-in (standin.py) is attributed to its instance by the
metadata service, as the guest itself is: the instance-id it reads is the
instance's, and without a token where tokens are required it gets 401."""
import os
import time

import pytest

import guests

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")

CURL = ["curl", "-s", "-m", "5", "-o", "-", "-w", "\\n%{http_code}"]


def test_standin_reads_its_instances_metadata(env, ec2):
    from standin import Standin
    ami = guests.import_tiny(ec2)
    iid = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    try:
        guests.wait_state(ec2, [iid], "running")
        db = env.hostd.db()
        with Standin(ec2, db, iid) as s:
            tok = s.run(CURL + ["-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60",
                                "http://169.254.169.254/latest/api/token"]).stdout.split("\n")
            assert tok[1] == "200", tok
            got = s.run(CURL + ["-H", "X-aws-ec2-metadata-token: " + tok[0],
                                "http://169.254.169.254/latest/meta-data/instance-id"]).stdout.split("\n")
            assert got == [iid, "200"]
            ip = s.run(CURL + ["-H", "X-aws-ec2-metadata-token: " + tok[0],
                               "http://169.254.169.254/latest/meta-data/local-ipv4"]).stdout.split("\n")
            assert ip[1] == "200" and ip[0] != s.ip  # the primary address, not the stand-in's
            ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="required")
            deadline = time.time() + 10
            while True:
                status = s.run(CURL + ["http://169.254.169.254/latest/meta-data/instance-id"]).stdout.split("\n")[-1]
                if status == "401" or time.time() > deadline:
                    break
                time.sleep(0.2)
            assert status == "401"
        db.close()
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
        guests.wait_state(ec2, [iid], "terminated")
