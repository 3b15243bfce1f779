"""The independent reader of the real-world suite: Python's csv module reads the ORIGINAL file and
maps each cell to a canonical text by the contract's column type, without any of the pipeline's
code. Usage: reference_reader.py FILE CONTRACT.json  → JSON {"columns": [...], "rows": [[...], ...]}

Canonical texts (the test maps DuckDB's view of the curated Parquet to the same):
  integer   -> decimal digits                     decimal -> the value * 10**scale, exactly, as digits
  double    -> repr(float)                        boolean -> "true" / "false"
  date      -> YYYY-MM-DD                         timestamp -> microseconds since the epoch (UTC)
  string    -> the text                           an empty cell -> null
Python 3.11's csv module cannot tell "" from an empty cell: both are null here, so no fixture
has a quoted "" in a text column.
"""
import csv
import json
import sys
from datetime import date, datetime, timezone, timedelta
from decimal import Decimal

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def canonical(text, column):
    if text == '':
        return None
    kind = column['type']
    if kind == 'string':
        return text
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
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)  # the contract's timezone: UTC
        return str((value - EPOCH) // timedelta(microseconds=1))
    raise ValueError(f'unknown type {kind}')


def main(path, contract_path):
    with open(contract_path, encoding='utf-8') as f:
        contract = json.load(f)
    dialect = contract.get('csv', {})
    with open(path, newline='', encoding='utf-8-sig') as f:
        records = [r for r in csv.reader(f, delimiter=dialect.get('delimiter', ','), quotechar='"')]
    records = [r for r in records if r]  # blank lines
    while records and all(c.strip() == '' for c in records[0]):
        records.pop(0)  # whitespace-only lines before the header are blank lines too
    header, rows = records[0], records[1:]
    columns = contract['columns']
    index = [header.index(c.get('source', c['name'])) for c in columns]
    out = []
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f'a row with {len(row)} fields, header has {len(header)}: {row!r}')
        out.append([canonical(row[i], c) for i, c in zip(index, columns)])
    json.dump({'columns': [c['name'] for c in columns], 'rows': out}, sys.stdout, ensure_ascii=False)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
