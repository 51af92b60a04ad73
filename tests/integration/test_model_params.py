"""Every parameter hostd's action table accepts must be one the EC2 model
defines for that action (as the ec2 query serializer names it), and every
action must exist in the model: a misspelt pattern would turn real clients'
requests into UnknownParameter errors."""

import subprocess

from conftest import HOSTD
from ec2_validator import _get_model


def query_names(shape, prefix="", depth=0):
    """Wire names the ec2 protocol serializer produces, with list indexes as N."""
    out = set()
    if depth > 6:
        return out
    for name, m in shape.members.items():
        wire = m.serialization.get("queryName") or (m.serialization.get("name") or name)
        wire = wire[0].upper() + wire[1:]
        p = prefix + wire
        if m.type_name == "structure":
            out |= query_names(m, p + ".", depth + 1)
        elif m.type_name == "list":
            item = m.member
            if item.type_name == "structure":
                out |= query_names(item, p + ".N.", depth + 1)
            else:
                out.add(p + ".N")
        else:
            out.add(p)
    return out


def test_action_table_matches_model():
    model = _get_model()
    rows = subprocess.run([HOSTD, "--list-actions"], capture_output=True, text=True, check=True).stdout
    assert rows.strip()
    for line in rows.strip().splitlines():
        action, _kind, params = line.split("\t")
        op = model.operation_model(action)  # raises if the model has no such action
        allowed = query_names(op.input_shape) if op.input_shape else set()
        for p in params.split():
            assert p in allowed, "%s: %s is not a parameter of the model (%s)" % (action, p, sorted(allowed))
