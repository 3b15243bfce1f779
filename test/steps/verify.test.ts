/**
 * Verify scenarios with the local query engine (DuckDB over a tmp lake folder, the same SQL as
 * Athena): only this file's objects are counted, a count below the manifest's rowsOut fails the
 * run, NULLs in required columns and duplicate keys are reported, and values are parameters.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalCatalog } from '../../adapters/local/catalog';
import { LocalLedger } from '../../adapters/local/ledger';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { LocalQueryEngine } from '../../adapters/local/query-engine';
import { findContract, parseContract } from '../../core/contract';
import { logger } from '../../core/instrumentation';
import { sequencerOrderKey, type SourceObject } from '../../core/events';
import { lake as layout } from '../../core/layout';
import type { TransformManifest } from '../../core/steps';
import { createVerifyStep } from '../../functions/verify/step';
import {
  VERIFY_OBJECTS_PER_QUERY,
  verifyOutput,
  verifyQueries,
  type VerifyInput,
} from '../../functions/verify/verify';

const LAKE = 'serverless-etl-lake';
const FILES = {
  mine: 'march-aaaaaaaaaaaa',
  other: 'april-bbbbbbbbbbbb',
  broken: 'may-cccccccccccc',
} as const;
const ROWS_CSV = path.join(__dirname, '../fixtures/steps/curated-rows.csv');

let dir: string;
let store: LocalObjectStore;
let engine: LocalQueryEngine;
let ledger: LocalLedger;
/** What every verify call is handed (the ledger is a fresh one per test). */
const deps = () => ({ store, query: engine, ledger });

/**
 * Writes the fixture rows as curated Parquet the way the shipped contract lays them out: one object
 * per (file, month of event_date), named by source id, event_date kept inside the files.
 */
async function writeCurated(lakeDir: string): Promise<void> {
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  await db.run(`CREATE TABLE rows AS SELECT * FROM read_csv('${ROWS_CSV}', all_varchar = true)`);
  const parts = (
    await db.runAndReadAll('SELECT DISTINCT file, left(event_date, 7) AS month FROM rows')
  ).getRowObjectsJson();
  for (const { file, month } of parts as { file: keyof typeof FILES; month: string }[]) {
    const folder = path.join(lakeDir, 'curated/registrations', `event_date_month=${month}`);
    mkdirSync(folder, { recursive: true });
    await db.run(
      `COPY (SELECT registration_id, event_id, CAST(event_date AS DATE) AS event_date,
                    nullif(attendee_email, '') AS attendee_email, ticket_type,
                    CAST(amount AS DECIMAL(12,2)) AS amount, currency, CAST(quantity AS BIGINT) AS quantity,
                    CAST(registered_at AS TIMESTAMP) AS registered_at, attendee_notes
             FROM rows WHERE file = '${file}' AND left(event_date, 7) = '${month}')
       TO '${path.join(folder, `${FILES[file]}.snappy.parquet`)}' (FORMAT parquet, COMPRESSION snappy)`,
    );
  }
  db.closeSync();
}

/** The keys writeCurated gives a file's objects (one per month it has rows in). */
const objectsOf = (sourceId: string, months: readonly string[]): string[] =>
  months.map((m) => layout.curatedObject('registrations', 'event_date_month', m, sourceId));

async function putManifest(sourceId: string, over: Partial<TransformManifest> = {}): Promise<void> {
  const manifest: TransformManifest = {
    dataset: 'registrations',
    sourceId,
    versionTag: '0123456789ab',
    engine: 'duckdb',
    rowsIn: 3,
    rowsOut: 3,
    duplicatesDropped: 0,
    exactDuplicates: 0,
    partitions: ['2026-03', '2026-04'],
    objects: objectsOf(sourceId, ['2026-03', '2026-04']),
    startedAt: '2026-11-22T08:00:00.000Z',
    finishedAt: '2026-11-22T08:00:02.000Z',
    ...over,
  };
  await store.put(LAKE, layout.manifest('registrations', sourceId), JSON.stringify(manifest));
}

/** This run's landing object: version 0123456789ab, sequencer 0A. */
const SOURCE: SourceObject = {
  bucket: 'serverless-etl-landing',
  key: 'incoming/registrations/march.csv',
  versionId: 'v1',
  size: 10,
  etag: 'e1',
  sequencer: '0A',
};

/** Claims a version of this run's key in the ledger, as Claim does. */
async function claimVersion(versionTag: string, sequencer: string, runId: string): Promise<void> {
  await ledger.claim({
    bucket: SOURCE.bucket,
    key: SOURCE.key,
    versionTag,
    runId,
    sequencerKey: sequencerOrderKey(sequencer),
    claimedAt: '2026-11-22T08:00:00.000Z',
  });
}

const input = (over: Partial<VerifyInput> = {}): VerifyInput => ({
  runId: 'run-1',
  source: SOURCE,
  dataset: 'registrations',
  sourceId: FILES.mine,
  versionTag: '0123456789ab',
  rowsValid: 3,
  lakeBucket: LAKE,
  database: 'serverless_etl',
  ...over,
});

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  dir = mkdtempSync(path.join(tmpdir(), 'verify-'));
  store = new LocalObjectStore(path.join(dir, 'lake'));
  const lakeDir = path.join(dir, 'lake', LAKE);
  await writeCurated(lakeDir);
  const catalog = new LocalCatalog({ catalogFile: path.join(dir, 'catalog.json'), lakeDir });
  await catalog.startCrawler('crawler');
  engine = new LocalQueryEngine({ lakeDir, catalog });
});
beforeEach(() => {
  ledger = new LocalLedger(mkdtempSync(path.join(dir, 'ledger-')));
});
afterAll(() => {
  engine.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('verify', () => {
  test("counts only this file's objects and passes when they match the manifest", async () => {
    await putManifest(FILES.mine);

    const result = await createVerifyStep(deps())(input());

    expect(result).toEqual({
      status: 'VERIFIED',
      rowsOut: 3,
      duplicatesDropped: 0,
      objects: 2,
      partitions: 2,
      checks: ['rowsAndNulls', 'keysUnique'],
      // The state machine's sink Choices read this (the registrations contract declares none).
      sinks: { dynamodb: false, redshift: false },
    });
  });

  test('the table holding fewer rows than the transform reported fails with VerificationFailedError', async () => {
    await putManifest(FILES.mine, { rowsIn: 4, rowsOut: 4 });

    await expect(verifyOutput(input({ rowsValid: 4 }), deps())).rejects.toMatchObject({
      name: 'VerificationFailedError',
      message: expect.stringMatching(/has 3 rows from this file, the transform reported rowsOut 4.*Fix: /),
    });
  });

  test('a NULL in a required column and a duplicated key are both reported', async () => {
    await putManifest(FILES.broken, {
      rowsIn: 2,
      rowsOut: 2,
      partitions: ['2026-03'],
      objects: objectsOf(FILES.broken, ['2026-03']),
    });

    await expect(verifyOutput(input({ sourceId: FILES.broken, rowsValid: 2 }), deps())).rejects.toThrow(
      /required column attendee_email is NULL in 1 rows; 1 primary keys \(registration_id\) occur more than once/,
    );
  });

  test('a transform that read a different number of rows than validate wrote is a mismatch', async () => {
    await putManifest(FILES.mine, { rowsIn: 5 });

    await expect(verifyOutput(input(), deps())).rejects.toThrow(
      /transform read 5 rows but validate wrote 3 valid rows/,
    );
  });

  test('output of another version of the same key is not accepted as this run while no newer version is claimed', async () => {
    await claimVersion('0123456789ab', '0A', 'run-1');
    await claimVersion('ffffffffffff', '09', 'run-0'); // an OLDER version's output in place
    await putManifest(FILES.mine, { versionTag: 'ffffffffffff' });

    await expect(verifyOutput(input(), deps())).rejects.toThrow(/manifest is for version ffffffffffff/);
    expect((await ledger.get({ ...SOURCE, versionTag: '0123456789ab' }))?.status).toBe('CLAIMED');
  });

  test('a newer claimed version whose output is in place: the run stands down SUPERSEDED, the ledger says STALE', async () => {
    await claimVersion('0123456789ab', '0A', 'run-1');
    await claimVersion('ffffffffffff', '0B', 'run-2');
    await putManifest(FILES.mine, { versionTag: 'ffffffffffff', rowsIn: 7, rowsOut: 7 });

    const result = await createVerifyStep(deps())(input());

    expect(result).toEqual({
      status: 'SUPERSEDED',
      latestVersionTag: 'ffffffffffff',
      rowsOut: 0,
      duplicatesDropped: 0,
      objects: 0,
      partitions: 0,
      checks: [],
      sinks: { dynamodb: false, redshift: false },
    });
    expect(await ledger.get({ ...SOURCE, versionTag: '0123456789ab' })).toMatchObject({
      status: 'STALE',
      detail: 'superseded by version ffffffffffff',
    });
  });

  test("a newer version claimed but not yet published: this version's own output verifies (the newer run replaces it)", async () => {
    await claimVersion('0123456789ab', '0A', 'run-1');
    await claimVersion('ffffffffffff', '0B', 'run-2');
    await putManifest(FILES.mine);

    await expect(verifyOutput(input(), deps())).resolves.toMatchObject({ status: 'VERIFIED', rowsOut: 3 });
    expect((await ledger.get({ ...SOURCE, versionTag: '0123456789ab' }))?.status).toBe('CLAIMED');
  });

  test('its own output failing the checks is a failure even when a newer version is claimed', async () => {
    await claimVersion('0123456789ab', '0A', 'run-1');
    await claimVersion('ffffffffffff', '0B', 'run-2');
    await putManifest(FILES.mine, { rowsIn: 4, rowsOut: 4 });

    await expect(verifyOutput(input({ rowsValid: 4 }), deps())).rejects.toMatchObject({
      name: 'VerificationFailedError',
    });
  });

  test('a missing manifest names where it should be', async () => {
    await expect(verifyOutput(input({ sourceId: 'june-dddddddddddd' }), deps())).rejects.toThrow(
      `s3://${LAKE}/manifests/registrations/june-dddddddddddd.json does not exist`,
    );
  });

  test('only the objects the manifest lists are read: another object of this file in the same folder is not counted', async () => {
    // A leftover of this source the manifest does not list (say, from a crashed older run): a
    // "$path" LIKE over the source id would count it, the manifest's list does not.
    await putManifest(FILES.mine, {
      objects: objectsOf(FILES.mine, ['2026-03']),
      partitions: ['2026-03'],
      rowsIn: 3,
      rowsOut: 2,
    });

    await expect(verifyOutput(input(), deps())).resolves.toMatchObject({
      status: 'VERIFIED',
      rowsOut: 2,
      objects: 1,
    });
  });

  test('a manifest with rows but no objects, or an object outside the table, is a mismatch', async () => {
    await putManifest(FILES.mine, { objects: [] });
    await expect(verifyOutput(input(), deps())).rejects.toThrow(
      /the manifest lists no objects for rowsOut 3/,
    );

    await putManifest(FILES.mine, {
      objects: ['curated/other/event_date_month=2026-03/march-aaaaaaaaaaaa.snappy.parquet'],
    });
    await expect(verifyOutput(input(), deps())).rejects.toThrow(
      /manifest object curated\/other\/event_date_month=2026-03\/march-aaaaaaaaaaaa.snappy.parquet is not one of this file's objects/,
    );
  });

  test('the local engine scoped to some objects reads just those files, whatever the SQL asks', async () => {
    const [mine] = objectsOf(FILES.mine, ['2026-03']);

    const scoped = await engine.query('SELECT count(*) AS n FROM "registrations"', [], {
      database: 'serverless_etl',
      only: { table: 'registrations', bucket: LAKE, keys: [mine!] },
    });
    const whole = await engine.query('SELECT count(*) AS n FROM "registrations"', [], {
      database: 'serverless_etl',
    });

    expect(scoped).toEqual([{ n: '2' }]);
    expect(whole).toEqual([{ n: '7' }]);
  });

  test('queries filter on the partition values and the exact "$path" of each object, all as parameters', () => {
    const objects = objectsOf(FILES.mine, ['2026-03', '2026-04']);

    const queries = verifyQueries(findContract('registrations')!, {
      objects,
      pathOf: (k) => `s3://${LAKE}/${k}`,
    });

    expect(queries.map((q) => q.check)).toEqual(['rowsAndNulls', 'keysUnique']);
    for (const q of queries) {
      expect(q.sql).toContain('WHERE "event_date_month" IN (?, ?) AND "$path" IN (?, ?)');
      expect(q.sql).not.toContain(FILES.mine);
      expect(q.sql).not.toMatch(/LIKE/);
      expect(q.parameters).toEqual(['2026-03', '2026-04', ...objects.map((k) => `s3://${LAKE}/${k}`)]);
      expect(q.objects).toEqual(objects);
    }
  });

  test('day partitions are compared as dates; a run with more objects than one query takes is checked in batches', () => {
    const contract = findContract('registrations')!;
    const byDay = parseContract(
      'registrations',
      JSON.stringify({
        ...JSON.parse(readFileSync(contract.file, 'utf8')),
        partition: { column: 'event_date' },
      }),
      contract.file,
    );
    const days = Array.from({ length: VERIFY_OBJECTS_PER_QUERY + 5 }, (_, i) =>
      new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10),
    );
    const objects = days.map((d) => layout.curatedObject('registrations', 'event_date', d, FILES.mine));

    const queries = verifyQueries(byDay, { objects, pathOf: (k) => k });

    expect(queries.map((q) => [q.check, q.objects.length])).toEqual([
      ['rowsAndNulls', VERIFY_OBJECTS_PER_QUERY],
      ['keysUnique', VERIFY_OBJECTS_PER_QUERY],
      ['rowsAndNulls', 5],
      ['keysUnique', 5],
    ]);
    expect(queries[2]!.sql).toContain(
      'WHERE "event_date" IN (CAST(? AS DATE), CAST(? AS DATE), CAST(? AS DATE), CAST(? AS DATE), CAST(? AS DATE)) AND "$path" IN (?, ?, ?, ?, ?)',
    );
    expect(queries[2]!.parameters).toEqual([...days.slice(-5), ...objects.slice(-5)]);
  });

  test('no key: no uniqueness check; no partition: no partition predicate, only the object', () => {
    const file = path.join(__dirname, '../fixtures/parity/contracts/parity_nokey.schema.json');
    const contract = parseContract('parity_nokey', readFileSync(file, 'utf8'), file);
    const object = layout.curatedObject('parity_nokey', null, null, FILES.mine);

    const queries = verifyQueries(contract, { objects: [object], pathOf: (k) => k });

    expect(queries.map((q) => q.check)).toEqual(['rowsAndNulls']);
    expect(queries[0]!.sql).toContain('"nulls:reading_id"');
    expect(queries[0]!.sql).toContain('WHERE "$path" IN (?)');
    expect(queries[0]!.parameters).toEqual([object]);
  });

  test('a text partition of a hyphenated dataset: table by contract.table, the key column checked by its folder', () => {
    const file = path.join(__dirname, '../fixtures/parity/contracts/parity-region.schema.json');
    const contract = parseContract('parity-region', readFileSync(file, 'utf8'), file);
    const object = layout.curatedObject('parity-region', 'region', 'eu-west', FILES.mine);

    const [rows, keys] = verifyQueries(contract, { objects: [object], pathOf: (k) => k });

    expect(rows!.sql).toContain('FROM "parity_region" WHERE "region" IN (?) AND "$path" IN (?)');
    expect(rows!.sql).toContain('"nulls:region"');
    expect(rows!.parameters).toEqual(['eu-west', object]);
    expect(keys!.sql).toContain('GROUP BY "shipment_id"');
  });

  test('a hostile value bound as a parameter stays a value: no match, no SQL error, the table intact', async () => {
    const hostile = '%\' OR 1=1; DROP VIEW "registrations"; --';

    const rows = await engine.query(
      'SELECT count(*) AS n FROM "registrations" WHERE "$path" LIKE ?',
      [hostile],
      {
        database: 'serverless_etl',
      },
    );
    const after = await engine.query('SELECT count(*) AS n FROM "registrations"', [], {
      database: 'serverless_etl',
    });

    expect(rows).toEqual([{ n: '0' }]);
    expect(after).toEqual([{ n: '7' }]);
  });
});
