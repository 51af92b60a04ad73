#!/usr/bin/python3
"""`make run`: make sure the running hostd has the tiny test AMI and print
its id ("tiny AMI: ami-...").

Idempotent across restarts: the import's Description carries the image
file's SHA-256, so an available AMI with that description is reused, an
import of it still running is waited for, and only a changed (rebuilt) file
is imported again. Credentials come from the config's first [account]
section when hostd runs with --config, else from <state>/credentials.

usage: tiny_ami.py --endpoint URL --state DIR [--config FILE] IMAGE
"""

import argparse
import configparser
import hashlib
import os
import sys
import time
import urllib.parse

import boto3
import botocore.config

TIMEOUT_S = 600


def credentials(state, config):
    """(access key, secret key, region) of the account to import into."""
    if config:
        # Read as hostd reads it: sections may repeat, whole-line comments
        # only (a value keeps everything after the first '=').
        p = configparser.ConfigParser(strict=False, comment_prefixes=("#", ";"), inline_comment_prefixes=None,
                                      delimiters=("=",), interpolation=None)
        p.read(config)
        region = p.get("host", "region", fallback="us-east-1")
        for s in p.sections():
            if s.split()[0] == "account":
                return p.get(s, "access_key"), p.get(s, "secret_key"), region
        sys.exit("tiny AMI: %s has no [account] section" % config)
    p = configparser.ConfigParser(interpolation=None)
    if not p.read(os.path.join(state, "credentials")):
        sys.exit("tiny AMI: no %s/credentials" % state)
    d = p["default"]
    return d["aws_access_key_id"], d["aws_secret_access_key"], d.get("region", "us-east-1")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wait(ec2, task_id):
    deadline = time.time() + TIMEOUT_S
    while True:
        t = ec2.describe_import_image_tasks(ImportTaskIds=[task_id])["ImportImageTasks"][0]
        if t["Status"] == "completed":
            return t["ImageId"]
        if t["Status"] != "active":
            sys.exit("tiny AMI: import %s ended %s: %s" % (task_id, t["Status"], t.get("StatusMessage", "")))
        if time.time() > deadline:
            sys.exit("tiny AMI: import %s still %s after %d s" % (task_id, t.get("StatusMessage"), TIMEOUT_S))
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--config")
    ap.add_argument("image")
    a = ap.parse_args()

    image = os.path.abspath(a.image)
    ak, sk, region = credentials(a.state, a.config)
    ec2 = boto3.client("ec2", endpoint_url=a.endpoint, region_name=region, aws_access_key_id=ak,
                       aws_secret_access_key=sk,
                       config=botocore.config.Config(retries={"total_max_attempts": 5, "mode": "standard"}))
    desc = "hostd tiny test AMI, sha256 %s" % sha256(image)[:32]

    found = ec2.describe_images(Owners=["self"], Filters=[{"Name": "description", "Values": [desc]},
                                                          {"Name": "state", "Values": ["available"]}])["Images"]
    if found:
        ami = sorted(found, key=lambda i: i["CreationDate"])[-1]["ImageId"]
    else:
        running = [t for t in ec2.describe_import_image_tasks(
            Filters=[{"Name": "task-state", "Values": ["active"]}])["ImportImageTasks"]
            if t.get("Description") == desc]
        if running:
            task = running[0]["ImportTaskId"]
        else:
            task = ec2.import_image(Description=desc, DiskContainers=[
                {"Format": "qcow2", "Url": "file://" + urllib.parse.quote(image)}])["ImportTaskId"]
            print("tiny AMI: importing %s (%s)" % (a.image, task), file=sys.stderr)
        ami = wait(ec2, task)
    print("tiny AMI: %s" % ami)


if __name__ == "__main__":
    main()
