"""Strict validator for EC2 Query-protocol XML responses.

botocore's EC2 parser silently drops elements it does not know, so "boto3
did not crash" proves little about a response.  This module checks a raw
response body against botocore's EC2 service model (api 2016-11-15) and
raises ValidationError on anything botocore would misparse or ignore.

Wire rules mirrored from botocore/parsers.py (BaseXMLResponseParser,
QueryParser, EC2QueryParser):

* A structure member is found by ``member.serialization['name']`` (the
  model's ``locationName``) if present, else by the member name *verbatim*
  (``_member_key_name``; there is no lower-casing on the parse side; e.g.
  ``Storage.S3`` really is ``<S3>`` on the wire).
* No EC2 output list or map is ``flattened``, so a list is a wrapper element
  whose children are the items.  botocore ignores the item tag name; real
  EC2 always uses ``<item>``, which we require.
* The parser starts at the root element (no resultWrapper in EC2) and reads
  ``requestId`` from the root for ResponseMetadata.
* Errors: ``<Response><Errors><Error><Code/><Message/></Error></Errors>
  <RequestID/></Response>`` with no namespace.

Extra strictness beyond botocore: no attributes, no mixed text, no
duplicates of non-list members, integers within the 32/64-bit range and the
model's min/max, string lengths within the model's min/max, enums, exact
``true``/``false``, ISO-8601 timestamps with ``Z`` or an offset, strict
base64 for blobs.  Operations with no output shape may carry an optional
``<return>true|false</return>`` (as real EC2 sends for e.g. DeleteTags).

Usage::

    validate_response("DescribeKeyPairs", 200, body_bytes)

    sink = []
    attach_to_boto3_client(ec2_client, sink)
    ...
    assert sink == []
"""

import base64
import binascii
import datetime
import re
import threading
import xml.etree.ElementTree as ET

__all__ = ["ValidationError", "validate_response", "attach_to_boto3_client",
           "EC2_NS"]

API_VERSION = "2016-11-15"
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
_Q = "{" + EC2_NS + "}"
_MAX_ERRORS = 25


class ValidationError(AssertionError):
    """A response does not conform to the EC2 wire format / service model."""


# --------------------------------------------------------------------------
# Model loading and per-shape compilation (cached)
# --------------------------------------------------------------------------

_lock = threading.RLock()
_model = None
_nodes = {}      # shape name -> _Node
_op_cache = {}   # operation name -> _Node or None (no output shape)

_STRUCT, _LIST, _MAP, _SCALAR = range(4)


class _Node(object):
    __slots__ = ("kind", "shape", "members", "member", "key", "value",
                 "check", "type_name")

    def __init__(self, kind, shape, type_name):
        self.kind = kind
        self.shape = shape
        self.type_name = type_name
        self.members = None   # struct: {qualified tag: (local tag, _Node, is_container)}
        self.member = None    # list: _Node of items
        self.key = None       # map: (qualified tag, _Node)
        self.value = None     # map: (qualified tag, _Node)
        self.check = None     # scalar: fn(text) -> error string or None


def _newest_model_file():
    """The newest EC2 model on the machine: HOSTD_EC2_MODEL if set, else the
    newest botocore data file found (the machine's pyenv botocore is far
    newer than Debian's and knows today's EC2 output members). Only the JSON
    is read; nothing is imported from another site-packages tree."""
    import glob
    import os
    if os.environ.get("HOSTD_EC2_MODEL"):
        return os.environ["HOSTD_EC2_MODEL"]
    best, best_ver = None, ()
    for init in glob.glob("/root/.pyenv/versions/*/lib/python3*/site-packages/botocore/__init__.py") + \
            glob.glob("/usr/lib/python3/dist-packages/botocore/__init__.py"):
        base = os.path.dirname(init)
        m = re.search(r"__version__ = '([0-9.]+)'", open(init).read())
        ver = tuple(int(x) for x in m.group(1).split(".")) if m else ()
        for name in ("service-2.json", "service-2.json.gz"):
            f = os.path.join(base, "data", "ec2", API_VERSION, name)
            if os.path.exists(f) and ver > best_ver:
                best, best_ver = f, ver
    return best


def _get_model():
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                import gzip
                import json
                import botocore.model
                path = _newest_model_file()
                if path:
                    opener = gzip.open if path.endswith(".gz") else open
                    with opener(path, "rt", encoding="utf-8") as f:
                        _model = botocore.model.ServiceModel(json.load(f), service_name="ec2")
                else:
                    import botocore.session
                    sess = botocore.session.get_session()
                    _model = sess.get_service_model("ec2", api_version=API_VERSION)
    return _model


_INT_RE = re.compile(r"-?[0-9]+\Z")
_FLOAT_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_TS_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.[0-9]{1,9})?(Z|[+-]([0-9]{2}):([0-9]{2}))\Z")
_INT_RANGE = {"integer": (-2 ** 31, 2 ** 31 - 1),
              "long": (-2 ** 63, 2 ** 63 - 1)}


def _short(text):
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _make_int_check(type_name, meta):
    lo, hi = _INT_RANGE[type_name]
    if "min" in meta:
        lo = max(lo, int(meta["min"]))
    if "max" in meta:
        hi = min(hi, int(meta["max"]))

    def check(text):
        if not _INT_RE.match(text):
            return "not a valid %s: %s" % (type_name, _short(text))
        v = int(text)
        if v < lo or v > hi:
            return "%s %d out of range [%d, %d]" % (type_name, v, lo, hi)
        return None
    return check


def _make_float_check(type_name, meta):
    lo = meta.get("min")
    hi = meta.get("max")

    def check(text):
        if not _FLOAT_RE.match(text):
            return "not a valid %s: %s" % (type_name, _short(text))
        v = float(text)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return "%s %s out of range [%s, %s]" % (type_name, text, lo, hi)
        return None
    return check


def _check_bool(text):
    if text == "true" or text == "false":
        return None
    return "boolean must be exactly 'true' or 'false', got %s" % _short(text)


def _check_timestamp(text):
    m = _TS_RE.match(text)
    if not m:
        return ("not an ISO 8601 timestamp with Z or offset "
                "(e.g. 2024-01-02T03:04:05.000Z): %s" % _short(text))
    y, mo, d, h, mi, s = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    try:
        datetime.datetime(y, mo, d, h, mi, s)
    except ValueError as e:
        return "invalid timestamp %s: %s" % (_short(text), e)
    if m.group(7) != "Z" and (int(m.group(8)) > 23 or int(m.group(9)) > 59):
        return "invalid timestamp offset: %s" % _short(text)
    return None


def _check_blob(text):
    try:
        base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return "blob is not valid base64: %s" % _short(text)
    return None


# Values real EC2 sends outside the model's enum, documented by AWS: an
# internet gateway's attachment state is "available" while attached (the
# API reference for InternetGatewayAttachment says so).
_ENUM_EXTRA = {"AttachmentStatus": {"available"}}


def _make_string_check(meta, shape_name=None):
    enum = meta.get("enum")
    enum = frozenset(enum) | _ENUM_EXTRA.get(shape_name, set()) if enum else None
    if enum is not None:
        vals = sorted(enum)
        enum_desc = "[%s%s]" % (", ".join(vals[:12]),
                                ", ... (%d values)" % len(vals) if len(vals) > 12 else "")
    lo = meta.get("min")
    hi = meta.get("max")
    if enum is None and lo is None and hi is None:
        return None

    def check(text):
        if enum is not None and text not in enum:
            return "value %s is not in enum %s" % (_short(text), enum_desc)
        n = len(text)
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            return "string length %d out of range [%s, %s]" % (n, lo, hi)
        return None
    return check


def _compile(shape):
    """Return the _Node for a botocore Shape (cached by shape name)."""
    node = _nodes.get(shape.name)
    if node is not None:
        return node
    with _lock:
        node = _nodes.get(shape.name)
        if node is not None:
            return node
        t = shape.type_name
        if t == "structure":
            node = _Node(_STRUCT, shape.name, t)
            _nodes[shape.name] = node  # before members: recursive shapes
            members = {}
            for mname, mshape in shape.members.items():
                ser = mshape.serialization
                if "location" in ser or ser.get("eventheader") \
                        or ser.get("xmlAttribute"):
                    raise NotImplementedError(
                        "%s.%s: non-body member not supported" % (shape.name, mname))
                if mshape.type_name in ("list", "map") and \
                        mshape.serialization.get("flattened"):
                    raise NotImplementedError(
                        "%s.%s: flattened %s not supported"
                        % (shape.name, mname, mshape.type_name))
                tag = ser.get("name") or mname  # BaseXMLResponseParser._member_key_name
                child = _compile(mshape)
                members[_Q + tag] = (tag, child, child.kind == _LIST)
            node.members = members
        elif t == "list":
            node = _Node(_LIST, shape.name, t)
            _nodes[shape.name] = node
            node.member = _compile(shape.member)
        elif t == "map":
            node = _Node(_MAP, shape.name, t)
            _nodes[shape.name] = node
            ktag = shape.key.serialization.get("name") or "key"
            vtag = shape.value.serialization.get("name") or "value"
            node.key = (ktag, _compile(shape.key))
            node.value = (vtag, _compile(shape.value))
        else:
            node = _Node(_SCALAR, shape.name, t)
            meta = shape.metadata
            if t in ("integer", "long"):
                node.check = _make_int_check(t, meta)
            elif t in ("double", "float"):
                node.check = _make_float_check(t, meta)
            elif t == "boolean":
                node.check = _check_bool
            elif t == "timestamp":
                node.check = _check_timestamp
            elif t == "blob":
                node.check = _check_blob
            elif t in ("string", "character"):
                node.check = _make_string_check(meta, shape.name)
            else:
                raise NotImplementedError("shape %s: type %s" % (shape.name, t))
            _nodes[shape.name] = node
        return node


_NO_OUTPUT = object()


def _op_node(operation_name):
    node = _op_cache.get(operation_name)
    if node is not None:
        return node
    model = _get_model()
    try:
        op = model.operation_model(operation_name)
    except Exception:
        raise ValidationError("%s: unknown EC2 operation" % operation_name)
    out = op.output_shape
    node = _NO_OUTPUT if out is None else _compile(out)
    _op_cache[operation_name] = node
    return node


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------

class _Ctx(object):
    __slots__ = ("errors",)

    def __init__(self):
        self.errors = []

    def err(self, path, msg):
        if len(self.errors) < _MAX_ERRORS:
            self.errors.append("%s: %s" % (path, msg))


def _has_text(s):
    return s is not None and not s.isspace() and s != ""


def _local(tag):
    return tag[len(_Q):] if tag.startswith(_Q) else tag


def _expected(members):
    names = sorted(v[0] for v in members.values())
    if len(names) > 30:
        names = names[:30] + ["... (%d members)" % len(names)]
    return names


def _container_common(elem, path, ctx, what):
    if elem.attrib:
        ctx.err(path, "unexpected attributes %s" % dict(elem.attrib))
    if _has_text(elem.text):
        ctx.err(path, "%s must not contain text, got %s" % (what, _short(elem.text.strip())))


def _walk(elem, node, path, ctx):
    kind = node.kind
    if kind == _SCALAR:
        if elem.attrib:
            ctx.err(path, "unexpected attributes %s" % dict(elem.attrib))
        if len(elem):
            ctx.err(path, "%s scalar must not contain child elements (found <%s>)"
                    % (node.type_name, _local(elem[0].tag)))
            return
        check = node.check
        if check is not None:
            msg = check(elem.text or "")
            if msg is not None:
                ctx.err(path, msg)
        return

    if kind == _STRUCT:
        _container_common(elem, path, ctx, "structure %s" % node.shape)
        members = node.members
        seen = set()
        for child in elem:
            tag = child.tag
            if _has_text(child.tail):
                ctx.err(path, "structure %s must not contain text, got %s"
                        % (node.shape, _short(child.tail.strip())))
            m = members.get(tag)
            if m is None:
                if not isinstance(tag, str):
                    continue  # comment / PI
                local = _local(tag)
                if tag.startswith(_Q) or "}" not in tag:
                    if _Q + local in members and not tag.startswith(_Q):
                        ctx.err(path + "/" + local,
                                "element is not in namespace %s" % EC2_NS)
                    else:
                        ctx.err(path + "/" + local,
                                "unknown element for structure %s (expected one of %s)"
                                % (node.shape, _expected(members)))
                else:
                    ctx.err(path + "/" + tag, "element in wrong namespace")
                continue
            local, sub, _is_list = m
            if tag in seen:
                ctx.err(path + "/" + local, "duplicate member element")
                continue
            seen.add(tag)
            _walk(child, sub, path + "/" + local, ctx)
        return

    if kind == _LIST:
        _container_common(elem, path, ctx, "list %s" % node.shape)
        sub = node.member
        i = 0
        item_tag = _Q + "item"
        for child in elem:
            if not isinstance(child.tag, str):
                continue
            i += 1
            if _has_text(child.tail):
                ctx.err(path, "list %s must not contain text, got %s"
                        % (node.shape, _short(child.tail.strip())))
            cpath = "%s/item[%d]" % (path, i)
            if child.tag != item_tag:
                ctx.err("%s/%s" % (path, _local(child.tag)),
                        "list %s may only contain <item> elements (in namespace %s)"
                        % (node.shape, EC2_NS))
                continue
            _walk(child, sub, cpath, ctx)
        return

    if kind == _MAP:
        _container_common(elem, path, ctx, "map %s" % node.shape)
        ktag, knode = node.key
        vtag, vnode = node.value
        i = 0
        for entry in elem:
            if not isinstance(entry.tag, str):
                continue
            i += 1
            epath = "%s/entry[%d]" % (path, i)
            if entry.tag != _Q + "entry":
                ctx.err(path + "/" + _local(entry.tag),
                        "map %s may only contain <entry> elements" % node.shape)
                continue
            _container_common(entry, epath, ctx, "map entry")
            kids = [c for c in entry if isinstance(c.tag, str)]
            tags = [c.tag for c in kids]
            if tags != [_Q + ktag, _Q + vtag]:
                ctx.err(epath, "map entry must contain exactly <%s> then <%s>, got %s"
                        % (ktag, vtag, [_local(t) for t in tags]))
                continue
            _walk(kids[0], knode, epath + "/" + ktag, ctx)
            _walk(kids[1], vnode, epath + "/" + vtag, ctx)
        return


def _parse(operation_name, body):
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        return ET.fromstring(body)
    except ET.ParseError as e:
        raise ValidationError("%s: response is not well-formed XML (%s): %r"
                              % (operation_name, e, body[:200]))


def _text_leaf(elem, path, ctx, what):
    """Leaf with non-empty text and nothing else."""
    if elem.attrib:
        ctx.err(path, "unexpected attributes %s" % dict(elem.attrib))
    if len(elem):
        ctx.err(path, "%s must not contain child elements" % what)
    elif not (elem.text or "").strip():
        ctx.err(path, "%s must be non-empty" % what)


def _validate_error(root, ctx):
    if root.tag != "Response":
        ctx.err(root.tag, "error response root must be <Response> without namespace")
        return
    _container_common(root, "Response", ctx, "Response")
    kids = [c for c in root if isinstance(c.tag, str)]
    tags = [c.tag for c in kids]
    if tags != ["Errors", "RequestID"]:
        ctx.err("Response", "children must be exactly <Errors> then <RequestID> "
                "(no namespace), got %s" % tags)
    for c in kids:
        if _has_text(c.tail):
            ctx.err("Response", "must not contain text")
        if c.tag == "RequestID":
            _text_leaf(c, "Response/RequestID", ctx, "RequestID")
        elif c.tag == "Errors":
            _container_common(c, "Response/Errors", ctx, "Errors")
            errs = [e for e in c if isinstance(e.tag, str)]
            if not errs:
                ctx.err("Response/Errors", "must contain at least one <Error>")
            for i, e in enumerate(errs, 1):
                epath = "Response/Errors/Error[%d]" % i
                if e.tag != "Error":
                    ctx.err("Response/Errors/" + e.tag, "only <Error> allowed here")
                    continue
                _container_common(e, epath, ctx, "Error")
                ekids = [x for x in e if isinstance(x.tag, str)]
                etags = [x.tag for x in ekids]
                if etags != ["Code", "Message"]:
                    ctx.err(epath, "children must be exactly <Code> then <Message>, got %s"
                            % etags)
                for x in ekids:
                    if x.tag in ("Code", "Message"):
                        _text_leaf(x, epath + "/" + x.tag, ctx, x.tag)


def validate_response(operation_name, status, body):
    """Validate one raw EC2 response; raise ValidationError if it is bad."""
    status = int(status)
    root = _parse(operation_name, body)
    ctx = _Ctx()
    if 200 <= status <= 299:
        node = _op_node(operation_name)
        rname = operation_name + "Response"
        if root.tag != _Q + rname:
            ctx.err(_local(root.tag) if root.tag.startswith(_Q) else root.tag,
                    "root element must be <%s> in namespace %s, got %r"
                    % (rname, EC2_NS, root.tag))
        else:
            path = rname
            if node is _NO_OUTPUT:
                # Real EC2 sends <return>true</return> for output-less calls.
                _validate_root(root, path, _RETURN_ONLY, ctx)
            else:
                _validate_root(root, path, node, ctx)
    elif 400 <= status <= 599:
        _validate_error(root, ctx)
    else:
        ctx.err("", "unexpected HTTP status %d" % status)
    if ctx.errors:
        raise ValidationError("%s (HTTP %d): %s" % (
            operation_name, status, "; ".join(ctx.errors)))


def _validate_root(root, path, node, ctx):
    if root.attrib:
        ctx.err(path, "unexpected attributes %s" % dict(root.attrib))
    kids = list(root)
    first = kids[0] if kids else None
    if first is None or first.tag != _Q + "requestId":
        ctx.err(path + "/requestId", "first child must be <requestId>")
    else:
        _text_leaf(first, path + "/requestId", ctx, "requestId")
        if _has_text(first.tail):
            ctx.err(path, "response element must not contain text")
        # Validate the rest as the output structure, without requestId.
        root = _Shallow(root, kids[1:])
    _walk(root, node, path, ctx)


class _Shallow(object):
    """Minimal element stand-in: same text/attrib, subset of children."""
    __slots__ = ("text", "attrib", "_kids", "tag")

    def __init__(self, elem, kids):
        self.text = elem.text
        self.attrib = {}
        self.tag = elem.tag
        self._kids = kids

    def __iter__(self):
        return iter(self._kids)

    def __len__(self):
        return len(self._kids)


_RETURN_ONLY = _Node(_STRUCT, "<no output shape; optional return>", "structure")
_RETURN_ONLY.members = {_Q + "return": ("return", _Node(_SCALAR, "Boolean", "boolean"), False)}
_RETURN_ONLY.members[_Q + "return"][1].check = _check_bool


# --------------------------------------------------------------------------
# boto3 hook
# --------------------------------------------------------------------------

def attach_to_boto3_client(client, sink):
    """Validate every raw HTTP response the client receives.

    Uses botocore's ``response-received.ec2.<Operation>`` event, emitted by
    Endpoint._get_response once per HTTP attempt (retries included, error
    statuses included) with ``response_dict`` = {status_code, body (bytes),
    headers, context}.  ValidationErrors are appended to ``sink`` rather than
    raised: an exception raised there is not swallowed but propagates out of
    the client call (checked on botocore 1.29), which would abort the call
    mid retry-loop and mask the service's own result/ClientError.  Caveat: if botocore's own parser fails (malformed
    XML) the event is never emitted, but then the client call raises anyway.

    Returns the handler (for client.meta.events.unregister).
    """
    def _on_response(response_dict=None, context=None, exception=None,
                     event_name=None, **kwargs):
        if response_dict is None:
            return  # connection-level failure, no HTTP response
        body = response_dict.get("body")
        if not isinstance(body, (bytes, bytearray, str)):
            return  # streaming output (none in EC2)
        op = (response_dict.get("context") or {}).get("operation_name")
        if not op and event_name:
            op = event_name.rsplit(".", 1)[-1]
        try:
            validate_response(op, response_dict["status_code"], bytes(body)
                              if not isinstance(body, str) else body)
        except ValidationError as e:
            sink.append(e)

    client.meta.events.register(
        "response-received.ec2", _on_response,
        unique_id="ec2_validator-%x-%x" % (id(client), id(sink)))
    return _on_response
