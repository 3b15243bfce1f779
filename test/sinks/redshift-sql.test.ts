/**
 * The Redshift sink's staging and merge SQL (sinks/redshift.ts) executed for real: in PostgreSQL 15
 * (started here) and in DuckDB through the local stand-in. COPY is the one Redshift-only statement:
 * the PostgreSQL test fills the staging table with INSERTs instead (sinks/README.md says what this
 * proves and what it does not).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { LocalWarehouseSink, localSinkViews } from '../../adapters/local/sink-tables';
import type { RedshiftSinkConfig } from '../../core/sinks';
import { copyStatements, warehouseStatements } from '../../sinks/redshift';
import type { SinkRun, SinkTable } from '../../sinks/table';
import { DATASET, PAYMENTS, orderKey, putCuratedRun, row, type PaymentRow } from './fixture';
import { requirePostgres, startPostgres, type Postgres } from './postgres';
import { DuckDBInstance } from '@duckdb/node-api';

const TARGET: RedshiftSinkConfig = {
  type: 'redshift',
  workgroup: 'analytics',
  clusterIdentifier: null,
  database: 'dev',
  schema: 'public',
  table: 'payments',
  secretArn: null,
  dbUser: null,
  copyRoleArn: null,
  key: ['id'],
};
const NO_KEY: RedshiftSinkConfig = { ...TARGET, table: 'payments_log', key: [] };

const runOf = (sourceId: string, versionTag: string, order: number | null): SinkRun => ({
  runId: `run-${versionTag}`,
  dataset: DATASET,
  sourceId,
  versionTag,
  sourceOrder: order === null ? null : orderKey(order),
  bucket: 'lake',
  objects: [],
});

const lit = (v: string | null) => (v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`);

/** What a warehouse holds, whichever engine: id, amount, note, source and version, by id then source. */
type Held = [string, string, string, string, string];

/** One engine the statements run in. */
interface Engine {
  load(run: SinkRun, target: RedshiftSinkConfig, rows: readonly PaymentRow[]): Promise<void>;
  held(target: RedshiftSinkConfig): Promise<Held[]>;
}

function warehouseBehaviour(name: string, engine: () => Engine) {
  describe(name, () => {
    test("a load inserts the run's rows with every decimal digit and its source bookkeeping", async () => {
      const e = engine();
      await e.load(runOf('march-aaaaaaaaaaaa', '111111111111', 1), TARGET, [
        row({ id: 'p1' }),
        row({ id: 'p2', amount: '-0.0000000001', note: 'x' }),
      ]);

      expect(await e.held(TARGET)).toEqual([
        ['p1', '12345678901234567890.0123456789', '', 'march-aaaaaaaaaaaa', '111111111111'],
        ['p2', '-0.0000000001', 'x', 'march-aaaaaaaaaaaa', '111111111111'],
      ]);
    });

    test("a rerun replaces this source's rows (a vanished row goes) and leaves another source's rows", async () => {
      const e = engine();
      await e.load(runOf('other-bbbbbbbbbbbb', '222222222222', 5), TARGET, [row({ id: 'o1' })]);
      await e.load(runOf('march-aaaaaaaaaaaa', '111111111111', 1), TARGET, [
        row({ id: 'p1' }),
        row({ id: 'p2' }),
      ]);

      await e.load(runOf('march-aaaaaaaaaaaa', '333333333333', 2), TARGET, [
        row({ id: 'p1', amount: '1.5000000000' }),
      ]);

      expect(await e.held(TARGET)).toEqual([
        ['o1', '12345678901234567890.0123456789', '', 'other-bbbbbbbbbbbb', '222222222222'],
        ['p1', '1.5000000000', '', 'march-aaaaaaaaaaaa', '333333333333'],
      ]);
    });

    test('an older version loaded after a newer one changes nothing', async () => {
      const e = engine();
      await e.load(runOf('march-aaaaaaaaaaaa', '333333333333', 2), TARGET, [
        row({ id: 'p1', note: 'newer' }),
      ]);

      await e.load(runOf('march-aaaaaaaaaaaa', '111111111111', 1), TARGET, [
        row({ id: 'p1', note: 'older' }),
        row({ id: 'p9' }),
      ]);

      expect(await e.held(TARGET)).toEqual([
        ['p1', '12345678901234567890.0123456789', 'newer', 'march-aaaaaaaaaaaa', '333333333333'],
      ]);
    });

    test('with a key, a row with the same key from another source is replaced (upsert by key)', async () => {
      const e = engine();
      await e.load(runOf('other-bbbbbbbbbbbb', '222222222222', 5), TARGET, [
        row({ id: 'p1', note: 'from other' }),
      ]);

      await e.load(runOf('march-aaaaaaaaaaaa', '111111111111', 1), TARGET, [
        row({ id: 'p1', note: 'from march' }),
      ]);

      expect(await e.held(TARGET)).toEqual([
        ['p1', '12345678901234567890.0123456789', 'from march', 'march-aaaaaaaaaaaa', '111111111111'],
      ]);
    });

    test("with no key, a rerun deletes this source's rows by _source_id and inserts; duplicates of another source stay", async () => {
      const e = engine();
      await e.load(runOf('other-bbbbbbbbbbbb', '222222222222', 5), NO_KEY, [row({ id: 'p1' })]);
      await e.load(runOf('march-aaaaaaaaaaaa', '111111111111', 1), NO_KEY, [
        row({ id: 'p1' }),
        row({ id: 'p1' }),
      ]);

      await e.load(runOf('march-aaaaaaaaaaaa', '111111111111', 1), NO_KEY, [
        row({ id: 'p1' }),
        row({ id: 'p1' }),
      ]);

      expect((await e.held(NO_KEY)).map((r) => `${r[0]}@${r[3]}`)).toEqual([
        'p1@march-aaaaaaaaaaaa',
        'p1@march-aaaaaaaaaaaa',
        'p1@other-bbbbbbbbbbbb',
      ]);
    });
  });
}

const HELD_SQL = (t: RedshiftSinkConfig) =>
  `SELECT id, CAST(amount AS VARCHAR), COALESCE(note, ''), _source_id, _source_version FROM "${t.schema}"."${t.table}" ORDER BY id, _source_id`;

const pgSuite = requirePostgres('Redshift sink SQL on PostgreSQL 15');
(pgSuite ? describe : describe.skip)('PostgreSQL 15', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => pg?.stop());
  beforeEach(() => pg.sql('DROP SCHEMA public CASCADE; CREATE SCHEMA public;'));

  warehouseBehaviour('the merge SQL in PostgreSQL 15', () => ({
    async load(run, target, rows) {
      const s = warehouseStatements(run, PAYMENTS, target);
      for (const sql of s.setup) pg.sql(`${sql};`);
      pg.transaction(s.createStage);
      // COPY's stand-in: the same rows, typed by the staging table's columns.
      if (rows.length > 0) {
        pg.sql(
          `INSERT INTO ${s.stage} VALUES ${rows
            .map(
              (r) =>
                `(${lit(r.id)}, ${lit(r.amount)}, ${lit(r.paid_at)}, ${r.settled}, ${lit(r.note)}, ${lit(r.event_date)})`,
            )
            .join(', ')};`,
        );
      }
      pg.transaction(s.merge);
    },
    held: async (target) => pg.sql(`${HELD_SQL(target)};`) as Held[],
  }));

  test('a failing statement rolls the whole merge back', () => {
    const run = runOf('march-aaaaaaaaaaaa', '111111111111', 1);
    const s = warehouseStatements(run, PAYMENTS, TARGET);
    for (const sql of s.setup) pg.sql(`${sql};`);
    pg.transaction(s.createStage);
    pg.sql(`INSERT INTO ${s.stage} VALUES ('p1', 1, '2026-03-01T00:00:00Z', true, NULL, '2026-03-01');`);

    expect(() => pg.transaction([...s.merge.slice(0, -1), 'SELECT 1/0'])).toThrow(/division by zero/);

    expect(pg.sql(`SELECT count(*) FROM ${s.target};`)).toEqual([['0']]);
    expect(pg.sql(`SELECT count(*) FROM ${s.stage};`)).toEqual([['1']]);
  });
});

describe('local warehouse stand-in (DuckDB, the same statements)', () => {
  let home: string;
  beforeEach(() => (home = mkdtempSync(path.join(tmpdir(), 'sink-local-'))));
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  warehouseBehaviour('the merge SQL in DuckDB', () => {
    const store = new LocalObjectStore(path.join(home, 'buckets'));
    const sink = new LocalWarehouseSink(path.join(home, 'sinks'), store);
    return {
      async load(run, target, rows) {
        const curated = await putCuratedRun(
          store,
          'lake',
          {
            sourceId: run.sourceId,
            versionTag: run.versionTag,
            order: run.sourceOrder === null ? null : parseInt(run.sourceOrder, 16),
          },
          rows,
        );
        await sink.load(curated, PAYMENTS, target);
      },
      async held(target) {
        const instance = await DuckDBInstance.create(':memory:');
        const c = await instance.connect();
        try {
          const reader = await c.runAndReadAll(
            HELD_SQL(target).replace(
              `"${target.schema}"."${target.table}"`,
              `read_parquet('${sink.fileOf(target)}')`,
            ),
          );
          return reader.getRowsJson() as Held[];
        } finally {
          c.closeSync();
          instance.closeSync();
        }
      },
    };
  });

  test('the stand-in table is a query view named redshift.<schema>_<table>', async () => {
    const store = new LocalObjectStore(path.join(home, 'buckets'));
    const sink = new LocalWarehouseSink(path.join(home, 'sinks'), store);
    const run = await putCuratedRun(
      store,
      'lake',
      { sourceId: 'march-aaaaaaaaaaaa', versionTag: '111111111111', order: 1 },
      [row({ id: 'p1' })],
    );

    const result = await sink.load(run, PAYMENTS, TARGET);

    expect(result).toEqual({ rowsLoaded: 1, skippedNewer: false });
    expect(localSinkViews(path.join(home, 'sinks'))).toEqual([
      { schema: 'redshift', view: 'public_payments', file: sink.fileOf(TARGET) },
    ]);
  });
});

describe('COPY statements', () => {
  const table: SinkTable = PAYMENTS;
  test('a folder-only partition column: per object a COPY over its own manifest, an INSERT adding the folder value, a DELETE; at most 40 a batch', () => {
    const run = { ...runOf('march-aaaaaaaaaaaa', '111111111111', 1), objects: [] };
    const objects = Array.from({ length: 14 }, (_, i) => ({
      key: `curated/${DATASET}/event_date=2026-03-${String(i + 1).padStart(2, '0')}/march-aaaaaaaaaaaa.snappy.parquet`,
      size: 100 + i,
    }));
    const s = warehouseStatements(run, table, TARGET);

    const copy = copyStatements(run, table, s, objects, 'arn:aws:iam::123456789012:role/copy');

    expect(copy.manifests).toHaveLength(14);
    expect(JSON.parse(copy.manifests[0]!.body)).toEqual({
      entries: [{ url: `s3://lake/${objects[0]!.key}`, mandatory: true, meta: { content_length: 100 } }],
    });
    expect(copy.manifests[0]!.key).toBe(
      `manifests/${DATASET}/march-aaaaaaaaaaaa.redshift/111111111111/part-00000.manifest`,
    );
    expect(copy.batches.map((b) => b.length)).toEqual([39, 3]);
    expect(copy.batches[0]![0]).toBe(
      `COPY ${s.stageFile} FROM 's3://lake/${copy.manifests[0]!.key}' IAM_ROLE 'arn:aws:iam::123456789012:role/copy' FORMAT AS PARQUET MANIFEST`,
    );
    expect(copy.batches[0]![1]).toContain(`CAST('2026-03-01' AS DATE)`);
  });

  test("every column inside the files: one COPY over one manifest of all the run's objects", () => {
    const inFiles: SinkTable = { ...table, folderColumn: null };
    const run = runOf('march-aaaaaaaaaaaa', '111111111111', 1);
    const s = warehouseStatements(run, inFiles, TARGET);

    const copy = copyStatements(
      run,
      inFiles,
      s,
      [
        { key: 'curated/payments/a.parquet', size: 1 },
        { key: 'curated/payments/b.parquet', size: 2 },
      ],
      'arn:aws:iam::123456789012:role/copy',
    );

    expect(copy.manifests).toHaveLength(1);
    expect(JSON.parse(copy.manifests[0]!.body).entries).toHaveLength(2);
    expect(copy.batches).toEqual([
      [expect.stringMatching(/^COPY "public"."_etl_stage_[0-9a-f]{12}_111111111111" FROM /)],
    ]);
  });

  test('nothing from a key or a row reaches the SQL unchecked', () => {
    expect(() =>
      warehouseStatements({ ...runOf("x'; DROP TABLE t; --", '111111111111', 1) }, table, TARGET),
    ).toThrow(/not safe in SQL/);
    expect(() =>
      warehouseStatements(runOf('march-aaaaaaaaaaaa', '111111111111', 1), table, { ...TARGET, table: 'a"b' }),
    ).toThrow(/not a SQL identifier/);
  });
});
