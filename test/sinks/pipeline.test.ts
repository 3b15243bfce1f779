/**
 * Issue 15, end to end: a dataset with both sinks runs locally through `etl run` (the real state
 * machine, the real steps, the local stand-ins), and `etl query` reads both sinks. A newer version
 * of the file replaces its rows, a rerun of the same file changes nothing, and an older version
 * — late at Claim, or its sink states run after the newer version loaded — changes nothing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../cli/main';
import { homeAt } from '../../local/home';
import { objectCreatedEvent, putInLanding } from '../../local/landing';
import { createLocalPipeline } from '../../local/pipeline';

const CONTRACT = {
  version: 2,
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'amount', type: 'decimal', precision: 38, scale: 10, required: true },
    { name: 'paid_at', type: 'timestamp', required: true },
    { name: 'settled', type: 'boolean' },
    { name: 'note', type: 'string' },
    { name: 'event_date', type: 'date', required: true },
  ],
  primaryKey: ['id'],
  partition: { column: 'event_date' },
  sinks: [
    { type: 'dynamodb' },
    { type: 'redshift', workgroup: 'analytics', database: 'dev', table: 'payments' },
  ],
};

const HEADER = 'id,amount,paid_at,settled,note,event_date';
const V1 = [
  'p1,1234567890123456789012345678.0123456789,2026-03-01T10:15:30.123456Z,true,first,2026-03-01',
  'p2,10.5,2026-03-01T11:00:00Z,false,,2026-03-01',
  'p3,-0.0000000001,2026-03-02T09:00:00Z,,third,2026-03-02',
];
/** A newer version of the same file: p2 changed, p4 added (p1, p3 as before). */
const V2 = [
  V1[0]!,
  'p2,11.25,2026-03-01T11:00:00Z,true,paid late,2026-03-01',
  V1[2]!,
  'p4,7,2026-03-03T00:00:00Z,true,,2026-03-03',
];

interface EtlResult {
  code: number;
  out: string;
  err: string;
}

describe('sinks end to end (etl run with a dynamodb and a redshift sink)', () => {
  let dir: string;
  let schemas: string;
  let home: string;
  let file: string;

  const etl = async (args: readonly string[]): Promise<EtlResult> => {
    let out = '';
    let err = '';
    const code = await main([...args, '--home', home], {
      out: (t) => (out += t),
      err: (t) => (err += t),
      cwd: dir,
      env: { ...process.env },
      isTTY: false,
    });
    return { code, out, err };
  };
  const run = async (lines: readonly string[]) => {
    writeFileSync(file, `${HEADER}\n${lines.join('\n')}\n`);
    const r = await etl(['run', file, '--dataset', 'payments', '--schemas', schemas, '--json']);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    return JSON.parse(r.out) as { status: string; runId: string; states: { name: string }[] };
  };
  const query = async (sql: string) => {
    const r = await etl(['query', sql, '--schemas', schemas, '--json']);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    return (JSON.parse(r.out) as { rows: Record<string, unknown>[] }).rows;
  };
  const dynamodbItems = () =>
    query(
      'SELECT id, amount, paid_at, settled, note, event_date, _source_version FROM dynamodb.payments ORDER BY id',
    );
  const redshiftRows = () =>
    query(
      'SELECT id, CAST(amount AS VARCHAR) AS amount, settled, note, CAST(event_date AS VARCHAR) AS event_date, _source_version FROM redshift.public_payments ORDER BY id',
    );

  /** What each sink must hold after a run of `lines` as `version`. */
  const expectBoth = async (lines: readonly string[], version: string) => {
    const rows = lines.map((l) => l.split(','));
    const exact = (a: string) => (a.includes('.') ? a.replace(/\.?0+$/, '') : a);
    const items = await dynamodbItems();
    expect(items).toEqual(
      rows.map(([id, , , settled, note, day]) => ({
        id,
        amount: expect.any(String),
        paid_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/),
        settled: settled === '' ? null : settled === 'true',
        note: note === '' ? null : note,
        event_date: day,
        _source_version: version,
      })),
    );
    // Decimals keep every digit (DuckDB's exact text; trailing zeros of the scale aside).
    expect(items.map((i) => exact(String(i.amount)))).toEqual(rows.map(([, amount]) => exact(amount!)));
    const warehouse = await redshiftRows();
    expect(warehouse).toEqual(
      rows.map(([id, , , settled, note, day]) => ({
        id,
        amount: expect.any(String),
        settled: settled === '' ? null : settled === 'true',
        note: note === '' ? null : note,
        event_date: day,
        _source_version: version,
      })),
    );
    expect(warehouse.map((r) => exact(String(r.amount)))).toEqual(rows.map(([, amount]) => exact(amount!)));
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'etl-sinks-'));
    schemas = path.join(dir, 'schemas');
    home = path.join(dir, '.etl');
    mkdirSync(schemas);
    writeFileSync(path.join(schemas, 'payments.schema.json'), JSON.stringify(CONTRACT, null, 2));
    file = path.join(dir, 'payments.csv');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const csvFile = (name: string, lines: readonly string[]) => {
    const f = path.join(dir, name);
    writeFileSync(f, `${HEADER}\n${lines.join('\n')}\n`);
    return f;
  };

  let v1Version: string;

  test('the first run loads both sinks after Verify and before Archive', async () => {
    const result = await run(V1);
    expect(result.status).toBe('SUCCEEDED');
    const names = result.states.map((s) => s.name);
    expect(names.indexOf('LoadDynamoDbSink')).toBeGreaterThan(names.indexOf('Verify'));
    expect(names.indexOf('LoadRedshiftSink')).toBeGreaterThan(names.indexOf('LoadDynamoDbSink'));
    expect(names.indexOf('Archive')).toBeGreaterThan(names.indexOf('LoadRedshiftSink'));
    v1Version = String((await dynamodbItems())[0]!._source_version);
    await expectBoth(V1, v1Version);
  }, 120_000);

  test('a newer version of the file replaces its rows in both sinks', async () => {
    await run(V2);
    const version = String((await dynamodbItems())[0]!._source_version);
    expect(version).not.toBe(v1Version);
    await expectBoth(V2, version);
  }, 120_000);

  test('a rerun of the same file leaves both sinks as they were (its rows, once each)', async () => {
    await run(V2);
    const items = await dynamodbItems();
    const rerunVersion = String(items[0]!._source_version);
    await expectBoth(V2, rerunVersion);
    expect((await redshiftRows()).length).toBe(V2.length);
  }, 120_000);

  test('an older version changes neither sink: late at Claim, or its sink states after the newer load', async () => {
    const before = { items: await dynamodbItems(), rows: await redshiftRows() };
    const pipeline = createLocalPipeline({ home: homeAt(home), schemasDir: schemas });
    try {
      // Two versions of the key land; the newer one runs first, the older one's event comes late.
      const key = 'incoming/payments/payments.csv';
      const older = await putInLanding(
        pipeline.store,
        pipeline.home.landingBucket,
        key,
        csvFile('v1.csv', V1),
      );
      const newer = await putInLanding(
        pipeline.store,
        pipeline.home.landingBucket,
        key,
        csvFile('v2.csv', V2),
      );
      // Events carry the order (S3's sequencer): the older version's event is made first.
      const olderEvent = objectCreatedEvent(pipeline.home.landingBucket, older);
      const newerEvent = objectCreatedEvent(pipeline.home.landingBucket, newer);
      const newerRun = await pipeline.runtime.start(newerEvent).done;
      expect(newerRun.status).toBe('SUCCEEDED');
      const after = { items: await dynamodbItems(), rows: await redshiftRows() };
      const late = await pipeline.runtime.start(olderEvent).done;
      expect(late).toMatchObject({ status: 'SUCCEEDED', endState: 'StaleVersion' });
      expect({ items: await dynamodbItems(), rows: await redshiftRows() }).toEqual(after);
      // The newer run's rows are the same as before, under its own version.
      expect(after.items.map((i) => ({ ...i, _source_version: '' }))).toEqual(
        before.items.map((i) => ({ ...i, _source_version: '' })),
      );

      // An older run that got past Verify: its sink states run after the newer version loaded
      // (a redrive, or a slow Lambda). The manifest in place is the newer one's: nothing changes.
      const sourceId = String(
        (await query('SELECT DISTINCT _source_id FROM dynamodb.payments'))[0]!._source_id,
      );
      const input = {
        runId: 'older-run',
        dataset: 'payments',
        sourceId,
        versionTag: v1Version,
        lakeBucket: pipeline.home.lakeBucket,
      };
      const { createLoadDynamoDbSinkStep } = await import('../../functions/load-dynamodb-sink/step');
      const { createLoadRedshiftSinkStep } = await import('../../functions/load-redshift-sink/step');
      const { LocalItemTable, LocalWarehouseSink } = await import('../../adapters/local/sink-tables');
      const ddb = await createLoadDynamoDbSinkStep({
        store: pipeline.store,
        schemasDir: schemas,
        itemTable: (config, contract) => ({
          name: contract.table,
          items: new LocalItemTable(pipeline.home.sinksDir, contract.table, config.key),
        }),
      })(input);
      const rs = await createLoadRedshiftSinkStep({
        store: pipeline.store,
        schemasDir: schemas,
        warehouse: new LocalWarehouseSink(pipeline.home.sinksDir, pipeline.store),
      })(input);
      expect([ddb.status, rs.status]).toEqual(['SKIPPED', 'SKIPPED']);
      expect({ items: await dynamodbItems(), rows: await redshiftRows() }).toEqual(after);
    } finally {
      pipeline.close();
    }
  }, 180_000);

  test('etl contract check refuses a dynamodb sink without a primary key, naming the field and the fix', async () => {
    const { primaryKey: _key, ...noKey } = CONTRACT;
    const other = path.join(dir, 'no-key');
    mkdirSync(other);
    writeFileSync(path.join(other, 'payments.schema.json'), JSON.stringify(noKey));
    const r = await etl(['contract', 'check', 'payments', '--schemas', other]);
    expect(r.code).toBe(64);
    expect(r.out + r.err).toMatch(/\/sinks\/0/);
    expect(r.out + r.err).toMatch(/primary key/);
    expect(r.out + r.err).toMatch(/"primaryKey"/);
  });
});
