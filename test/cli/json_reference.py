"""Independent reader for test/cli/json-run.test.ts: reads a gzip JSON Lines file of nested events
with Python's own gzip and json modules and applies the nested_events contract's rules (the ones
docs/contracts.md "JSON input" states) by hand, printing the rows the lake must hold, as JSON.

usage: json_reference.py <file.jsonl.gz>
"""
import datetime
import decimal
import gzip
import json
import re
import sys

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
INTEGER = re.compile(r"^[+-]?[0-9]+$")


class Bad(Exception):
    pass


def at(obj, path):
    """The value at a dot path; None when a key is missing or a step is null; Bad when a step is
    not an object (the record has another shape than the contract)."""
    for key in path.split("."):
        if obj is None:
            return None
        if not isinstance(obj, dict):
            raise Bad("a step of the path is not an object")
        if key not in obj:
            return None
        obj = obj[key]
    return obj


def text(value, json_text=False):
    """The cell text of a JSON value, or None; Bad for an object/array in a scalar column."""
    if value is None:
        return None
    if json_text:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, (dict, list)):
        raise Bad("wrong JSON type")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return str(value)  # int, or Decimal as written


def integer(value):
    t = text(value)
    if t is None or t == "":
        return None
    if not INTEGER.match(t):
        raise Bad("not an integer")
    n = int(t)
    if not -(2**63) <= n < 2**63:
        raise Bad("out of range")
    return str(n)


def decimal_12_2(value):
    t = text(value)
    if t is None or t == "":
        return None
    d = decimal.Decimal(t)
    q = d.quantize(decimal.Decimal("0.01"))
    if q != d or len(q.as_tuple().digits) > 12:
        raise Bad("decimal(12,2)")
    return str(q)


def boolean(value):
    t = text(value)
    if t is None or t == "":
        return None
    if t.lower() in ("true", "1"):
        return "true"
    if t.lower() in ("false", "0"):
        return "false"
    raise Bad("not a boolean")


def timestamp_us(value):
    t = text(value)
    if t is None or t == "":
        raise Bad("required")
    dt = datetime.datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return str((dt - EPOCH) // datetime.timedelta(microseconds=1))


def required(v):
    if v is None or v == "":
        raise Bad("required")
    return v


def row(obj):
    if not isinstance(obj, dict):
        raise Bad("not an object")
    return {
        "id": required(integer(at(obj, "id"))),
        "type": required(text(at(obj, "type"))),
        "actor_login": text(at(obj, "actor.login")),
        "actor_id": integer(at(obj, "actor.id")),
        "repo_name": text(at(obj, "repo.name")),
        "amount": decimal_12_2(at(obj, "amount")),
        "public": boolean(at(obj, "public")),
        "payload": text(at(obj, "payload"), json_text=True),
        "tags": text(at(obj, "tags"), json_text=True),
        "created_us": timestamp_us(at(obj, "created_at")),
    }


def main():
    rows = {}
    read = bad = 0
    with gzip.open(sys.argv[1], "rt", encoding="utf-8", newline="") as f:
        for raw in f.read().split("\n"):
            line = raw[:-1] if raw.endswith("\r") else raw
            if line.strip(" \t\r") == "":
                continue
            read += 1
            try:
                r = row(json.loads(line, parse_float=decimal.Decimal))
            except (Bad, ValueError):
                bad += 1
                continue
            rows[r["id"]] = r  # key id, no dedupe order: the last line wins
    out = {"read": read, "rejected": bad, "rows": sorted(rows.values(), key=lambda r: int(r["id"]))}
    json.dump(out, sys.stdout, ensure_ascii=False)


main()
