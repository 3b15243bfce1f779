/**
 * docs/contracts.md cannot drift from the loader: its field table lists exactly the properties of
 * the contract v2 meta-schema (top level, csv, columns items, dedupe, partition), every default it
 * shows is the meta-schema's, and the loader applies that same default to a contract that omits it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONTRACT_V2_SCHEMA, parseContract, type DatasetContract } from '../core/contract';

const docs = readFileSync(path.resolve(__dirname, '../docs/contracts.md'), 'utf8');

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  default?: unknown;
}

/** Every documented field path of the meta-schema (`csv.delimiter`, `columns[].name` ...) → its node. */
function schemaFields(): Map<string, SchemaNode> {
  const fields = new Map<string, SchemaNode>();
  const root = CONTRACT_V2_SCHEMA as unknown as SchemaNode;
  for (const [name, node] of Object.entries(root.properties!)) {
    fields.set(name, node);
    const inner = node.properties ?? node.items?.properties;
    const prefix = node.items?.properties ? `${name}[]` : name;
    // Nested fields are documented for csv, columns items, dedupe and partition (dedupe.orderBy's
    // items are described in its row).
    if (['csv', 'columns', 'dedupe', 'partition'].includes(name))
      for (const [child, childNode] of Object.entries(inner ?? {}))
        fields.set(`${prefix}.${child}`, childNode);
  }
  return fields;
}

/** The field table of docs/contracts.md: path → the default cell's text. */
function documentedFields(): Map<string, string> {
  const section = docs.slice(docs.indexOf('## Fields'), docs.indexOf('### Partitions'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim());
    const field = /^`([^`]+)`$/.exec(cells[0] ?? '');
    if (!field) continue;
    expect(rows.has(field[1]!)).toBe(false); // each field documented once
    rows.set(field[1]!, (cells[2] ?? '').replace(/\\\|/g, '|'));
  }
  return rows;
}

/** A documented default written as one JSON value in backticks, or undefined for prose / "—". */
function jsonDefault(cell: string): { value: unknown } | undefined {
  const m = /^`([^`]+)`$/.exec(cell);
  if (!m) return undefined;
  try {
    return { value: JSON.parse(m[1]!) };
  } catch {
    return undefined;
  }
}

/** What the loader resolved for each defaulted field of a contract that leaves them all out. */
function loaderDefaults(): Record<string, unknown> {
  const c: DatasetContract = parseContract(
    'docs_check',
    JSON.stringify({
      version: 2,
      columns: [
        { name: 'id', type: 'integer', required: true },
        { name: 'day', type: 'date', required: true },
        { name: 'at', type: 'timestamp' },
      ],
      primaryKey: ['id'],
      partition: { column: 'day' },
    }),
    'docs_check.schema.json',
  );
  const noKey = parseContract(
    'docs_check',
    JSON.stringify({ version: 2, columns: [{ name: 'id', type: 'integer' }] }),
    'docs_check.schema.json',
  );
  const id = c.columns[0]!;
  const jsonl = parseContract(
    'docs_check',
    JSON.stringify({ version: 2, format: 'jsonl', columns: [{ name: 'id', type: 'string' }] }),
    'docs_check.schema.json',
  );
  return {
    format: c.format,
    ...Object.fromEntries(Object.entries(c.csv).map(([k, v]) => [`csv.${k}`, v])),
    'columns[].required': noKey.columns[0]!.required,
    'columns[].drop': id.drop,
    'columns[].json': jsonl.columns[0]!.json,
    'columns[].timezone': c.columns[2]!.defaultTimezone,
    primaryKey: noKey.primaryKey,
    'dedupe.orderBy': c.dedupe.orderBy,
    'dedupe.tieBreaker': c.dedupe.tieBreaker,
    'partition.granularity': c.partition!.granularity,
    rejectThreshold: c.rejectThreshold,
    maxRowsPerFile: c.maxRowsPerFile,
    sinks: noKey.sinks,
  };
}

describe('docs/contracts.md', () => {
  test('the field table lists exactly the meta-schema properties (top level, csv, columns, dedupe, partition)', () => {
    const documented = [...documentedFields().keys()].sort();
    const declared = [...schemaFields().keys()].sort();

    expect(documented).toEqual(declared);
  });

  test('every documented default is the meta-schema default, and every meta-schema default is documented', () => {
    const documented = documentedFields();
    for (const [field, node] of schemaFields()) {
      const shown = jsonDefault(documented.get(field) ?? '');
      expect({ field, default: shown?.value }).toEqual({ field, default: node.default });
    }
  });

  test('each documented default is what the loader applies when the field is left out', () => {
    const documented = documentedFields();
    const applied = loaderDefaults();
    const withDefaults = [...documented].filter(([, cell]) => jsonDefault(cell) !== undefined);

    expect(withDefaults.map(([f]) => f).sort()).toEqual(Object.keys(applied).sort());
    for (const [field, cell] of withDefaults)
      expect({ field, applied: applied[field] }).toEqual({ field, applied: jsonDefault(cell)!.value });
  });
});
