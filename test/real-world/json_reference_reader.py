"""The independent reader of the JSON real-world suite: Python's json and gzip modules read the
ORIGINAL file (JSON Lines, or one JSON array of records; gzip when the name ends in .gz) and map
each contract column's path to a canonical text by the column's type, without any of the
pipeline's code. Usage: json_reference_reader.py FILE CONTRACT.json LAKE_ROWS.json
→ JSON {"columns", "rows", "lake"}: "lake" is LAKE_ROWS (the curated table's rows, as canonical
texts by the test) with each JSON-text cell parsed and written again by canonical_json, so both
sides' JSON texts are compared by value (key order and number spelling aside).

Canonical texts (the test maps DuckDB's view of the curated Parquet to the same):
  integer   -> decimal digits                     decimal -> the value * 10**scale, exactly, as digits
  double    -> repr(float)                        boolean -> "true" / "false"
  date      -> YYYY-MM-DD                         timestamp -> microseconds since the epoch (UTC)
  string    -> the text; an object or array (a JSON-text column) -> its JSON with sorted keys
  null or a missing key -> null; "" in a string column -> "" (an empty string, not null)
Numbers are parsed exactly (int and Decimal), never through a float, except for double columns.
"""
import gzip
import json
import sys
from datetime import date, datetime, timezone, timedelta
from decimal import Decimal

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def plain(value):
    """Decimals as floats (both sides parse their JSON text alike before comparing)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def canonical_json(value):
    return json.dumps(plain(value), sort_keys=True, separators=(',', ':'), ensure_ascii=False)


def canonical(value, column):
    if value is None:
        return None
    kind = column['type']
    if column.get('json'):
        return canonical_json(value)
    if isinstance(value, (dict, list)):
        if kind != 'string':
            raise ValueError(f'{column["name"]}: a JSON {type(value).__name__} in a {kind} column')
        return canonical_json(value)
    if isinstance(value, bool):
        text = 'true' if value else 'false'
    else:
        text = str(value)
    if kind == 'string':
        return text
    if text == '':
        return None
    if kind == 'integer':
        return str(int(text))
    if kind == 'decimal':
        scaled = Decimal(text).scaleb(column['scale'])
        if scaled != scaled.to_integral_value():
            raise ValueError(f'{text!r} has more than {column["scale"]} fraction digits')
        return str(int(scaled))
    if kind == 'double':
        return repr(float(text))
    if kind == 'boolean':
        lowered = text.lower()
        if lowered not in ('true', 'false', '1', '0'):
            raise ValueError(f'{text!r} is not a boolean')
        return 'true' if lowered in ('true', '1') else 'false'
    if kind == 'date':
        return date.fromisoformat(text).isoformat()
    if kind == 'timestamp':
        value = datetime.fromisoformat(text.replace('Z', '+00:00'))
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)  # the contract's timezone: UTC
        return str((value - EPOCH) // timedelta(microseconds=1))
    raise ValueError(f'unknown type {kind}')


def at(record, path):
    value = record
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def records(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt', encoding='utf-8-sig') as f:
        text = f.read()
    stripped = text.lstrip('\ufeff \t\r\n')
    if stripped.startswith('['):
        return json.loads(stripped, parse_float=Decimal)
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]


def main(path, contract_path, lake_path):
    with open(contract_path, encoding='utf-8') as f:
        contract = json.load(f)
    columns = contract['columns']
    paths = [split_path(c.get('path', c['name'])) for c in columns]
    out = [[canonical(at(r, p), c) for p, c in zip(paths, columns)] for r in records(path)]
    with open(lake_path, encoding='utf-8') as f:
        lake = json.load(f)
    lake = [[canonical_json(json.loads(v, parse_float=Decimal)) if v is not None and c.get('json') else v
             for v, c in zip(row, columns)] for row in lake]
    json.dump({'columns': [c['name'] for c in columns], 'rows': out, 'lake': lake}, sys.stdout, ensure_ascii=False)


def split_path(text):
    """The contract's dot path as keys: "a.b" is two keys, a backslash escapes the next character."""
    keys, key, i = [], '', 0
    while i < len(text):
        ch = text[i]
        if ch == '\\' and i + 1 < len(text):
            key += text[i + 1]
            i += 2
            continue
        if ch == '.':
            keys.append(key)
            key = ''
        else:
            key += ch
        i += 1
    keys.append(key)
    return keys


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], sys.argv[3])
