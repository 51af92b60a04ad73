"""Integration harness: a real hostd binary on a free loopback port with a
temporary state directory, driven by boto3 and the AWS CLI. Every response
boto3 receives is checked against botocore's EC2 model (ec2_validator)."""

import ast
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import boto3
import botocore.config
import pytest

from guests import cleanup_net
from ec2_validator import ValidationError, attach_to_boto3_client, validate_response

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Debian's CLI (installed by make deps), not whatever `aws` is first on PATH.
AWS_CLI = "/usr/bin/aws"
HOSTD = os.environ.get("HOSTD_BIN") or os.path.join(ROOT, "build", "bin", "hostd")

ACCOUNT_A = ("111111111111", "AKIAAAAAAAAAAAAAAAAA", "secretA" + "a" * 33)
ACCOUNT_B = ("222222222222", "AKIABBBBBBBBBBBBBBBB", "secretB" + "b" * 33)


def config_text(accounts=(ACCOUNT_A, ACCOUNT_B), extra=""):
    out = ["[host]", "region = us-east-1"]
    for acct, ak, sk in accounts:
        out += ["[account %s]" % acct, "access_key = %s" % ak, "secret_key = %s" % sk]
    return "\n".join(out) + "\n" + extra


class Hostd:
    """One running hostd process."""

    def __init__(self, state_dir, config=None, extra_args=(), env=None):
        self.state_dir = state_dir
        self.config_path = None
        args = [HOSTD, "--state-dir", state_dir, "--listen", "127.0.0.1:0"]
        if config is not None:
            self.config_path = os.path.join(state_dir + ".conf")
            with open(self.config_path, "w") as f:
                f.write(config)
            args += ["--config", self.config_path]
        args += list(extra_args)
        self.log_path = state_dir + ".log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.port = self._wait_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def _wait_port(self):
        deadline = time.time() + 15
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                m = re.search(rb"listening on \S+ \(port (\d+)\)", f.read())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError("hostd exited %d:\n%s" % (self.proc.returncode, self.read_log()))
            time.sleep(0.02)
        raise RuntimeError("hostd did not start:\n" + self.read_log())

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def db(self):
        return sqlite3.connect(os.path.join(self.state_dir, "state.db"), timeout=10)


class Env:
    """A hostd plus clients for it; every boto3 response is validated."""

    def __init__(self, hostd):
        self.hostd = hostd
        self.sink = []

    def client(self, account=ACCOUNT_A, retries=0, **kw):
        cfg = botocore.config.Config(retries={"total_max_attempts": retries + 1, "mode": "standard"})
        c = boto3.client("ec2", endpoint_url=self.hostd.endpoint, region_name="us-east-1",
                         aws_access_key_id=account[1], aws_secret_access_key=account[2],
                         config=cfg, **kw)
        attach_to_boto3_client(c, self.sink)
        return c

    def aws(self, *args, account=ACCOUNT_A, check=True):
        """Debian's AWS CLI v2 against hostd; returns parsed JSON (or the
        CompletedProcess when check=False). Its --debug log carries every raw
        response, which is validated against the EC2 model like boto3's."""
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        env.update(AWS_ACCESS_KEY_ID=account[1], AWS_SECRET_ACCESS_KEY=account[2],
                   AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        p = subprocess.run([AWS_CLI, "--debug", "--endpoint-url", self.hostd.endpoint, "--output", "json", "ec2"]
                           + list(args), env=env, capture_output=True, text=True, timeout=60)
        self._validate_cli(p.stderr)
        if check and p.returncode != 0:
            raise AssertionError("aws %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr[-2000:]))
        if not check:
            return p
        return json.loads(p.stdout) if p.stdout.strip() else None

    def _validate_cli(self, log):
        ops = re.findall(r"Making request for OperationModel\(name=(\w+)\)", log)
        statuses = [int(s) for s in re.findall(r'"(?:POST|GET) \S+ HTTP/1\.1" (\d{3})', log)]
        bodies = [ast.literal_eval(b) for b in re.findall(r"Response body:\n(b'.*'|b\".*\")\n", log)]
        if not (len(ops) == len(statuses) == len(bodies)) or not ops:
            self.sink.append("could not pair the CLI's requests and responses (%d/%d/%d)"
                             % (len(ops), len(statuses), len(bodies)))
            return
        for op, st, body in zip(ops, statuses, bodies):
            try:
                validate_response(op, st, body)
            except ValidationError as e:
                self.sink.append(e)


@pytest.fixture
def state_dir():
    d = tempfile.mkdtemp(prefix="hostd-it-")
    yield os.path.join(d, "state")
    cleanup_net(os.path.join(d, "state"))
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def env(state_dir):
    h = Hostd(state_dir, config_text())
    e = Env(h)
    yield e
    rc = h.stop()
    log = h.read_log()
    assert rc == 0, "hostd exit %r\n%s" % (rc, log)
    assert "runtime error" not in log and "AddressSanitizer" not in log, log
    assert e.sink == [], "responses that do not match the EC2 model:\n" + "\n".join(map(str, e.sink))


@pytest.fixture
def ec2(env):
    return env.client()


@pytest.fixture
def ec2b(env):
    return env.client(ACCOUNT_B)


def pytest_configure(config):
    config.addinivalue_line("markers", "guests_full: the longer real-guest suite (make integration-guests)")
