#!/usr/bin/python3
"""A stand-in for the EC2 instance metadata service, for debian-suite only.

QEMU's user network runs it once per guest connection to 169.254.169.254:80
(-nic user,guestfwd=tcp:169.254.169.254:80-cmd:...): the HTTP request comes
on stdin and the response goes to stdout, so nothing listens on any socket.
It answers one request and exits (Connection: close).

    imds-stub.py TREE.json LOG

TREE.json: {"token": T, "meta-data": {...}, "user-data": "...",
            "dynamic": {...}}. Nested objects are directories (listed one
name a line, subdirectories with a trailing "/"); a "public-keys" object
{"0=name": {"openssh-key": KEY}} is listed as "0=name" and served under
"0/" as on EC2. IMDSv2 only, like HttpTokens=required: PUT /latest/api/token
(with X-aws-ec2-metadata-token-ttl-seconds) returns T; every GET needs
X-aws-ec2-metadata-token: T, or gets 401. Any API version prefix
("latest", "2021-03-23", ...) serves the same tree. This is not hostd's
metadata service, only enough of EC2's for cloud-init's Ec2 datasource.
"""
import json
import sys


def respond(code, reason, body=b"", ctype="text/plain"):
    out = sys.stdout.buffer
    out.write(b"HTTP/1.1 %d %s\r\n" % (code, reason.encode()))
    out.write(b"Content-Type: %s\r\n" % ctype.encode())
    out.write(b"Content-Length: %d\r\n" % len(body))
    out.write(b"Connection: close\r\n\r\n")
    out.write(body)
    out.flush()
    return code


def lookup(tree, parts):
    """The node at parts (a list of path segments) or None."""
    node = tree
    for p in parts:
        if not isinstance(node, dict):
            return None
        if p in node:
            node = node[p]
            continue
        # public-keys/0/... is listed as "0=name"
        hit = [k for k in node if k.split("=", 1)[0] == p and "=" in k]
        if not hit:
            return None
        node = node[hit[0]]
    return node


def listing(node):
    names = []
    for k, v in node.items():
        if "=" in k:
            names.append(k)  # public-keys: "0=name", no slash
        elif isinstance(v, dict):
            names.append(k + "/")
        else:
            names.append(k)
    return "\n".join(names).encode()


def handle(data, method, path, headers):
    path = path.split("?", 1)[0]
    if path == "/latest/api/token":
        if method != "PUT":
            return respond(405, "Method Not Allowed")
        try:
            ttl = int(headers.get("x-aws-ec2-metadata-token-ttl-seconds", ""))
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= 21600:
            return respond(400, "Bad Request")
        return respond(200, "OK", data["token"].encode())
    if method != "GET":
        return respond(405, "Method Not Allowed")
    if headers.get("x-aws-ec2-metadata-token") != data["token"]:
        return respond(401, "Unauthorized")
    parts = [p for p in path.split("/") if p]
    if not parts:
        return respond(200, "OK", b"latest")
    parts = parts[1:]  # the API version
    if not parts:
        return respond(200, "OK", b"dynamic\nmeta-data\nuser-data")
    if parts == ["user-data"]:
        if "user-data" not in data:
            return respond(404, "Not Found")
        return respond(200, "OK", data["user-data"].encode(), "application/octet-stream")
    node = lookup({"meta-data": data["meta-data"], "dynamic": data.get("dynamic", {})}, parts)
    if node is None:
        return respond(404, "Not Found")
    if isinstance(node, dict):
        return respond(200, "OK", listing(node))
    if not isinstance(node, str):
        return respond(200, "OK", json.dumps(node, indent=2).encode(), "application/json")
    return respond(200, "OK", node.encode())


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    rfile = sys.stdin.buffer
    line = rfile.readline(8192).decode("latin-1").strip()
    headers = {}
    while True:
        h = rfile.readline(8192).decode("latin-1")
        if h in ("\r\n", "\n", ""):
            break
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    try:
        method, path, _ = line.split(" ", 2)
        code = handle(data, method, path, headers)
    except ValueError:
        method, path = "?", line
        code = respond(400, "Bad Request")
    with open(sys.argv[2], "a") as log:
        log.write("%s %s %d\n" % (method, path, code))


if __name__ == "__main__":
    main()
