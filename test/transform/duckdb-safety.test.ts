/**
 * Output safety of the DuckDB engine: a re-run replaces exactly its own objects, a failure at any
 * point before publishing leaves the lake as it was, and bad staging is refused with a message
 * that names the file, line and column.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TransformFailedError } from '../../core/errors';
import { runTransform } from '../../transform/duckdb';
import type { TransformRequest } from '../../transform/request';
import {
  LakeReader,
  filesUnder,
  freshLake,
  readManifest,
  registrationsPlan,
  staging,
  transformFixture,
} from './lake-fixture';

let reader: LakeReader;
let lake: ReturnType<typeof freshLake>;
beforeAll(async () => {
  reader = await LakeReader.open();
});
afterAll(() => reader.close());
beforeEach(() => {
  lake = freshLake();
});
afterEach(() => lake.remove());

const MINE = 'signups-0123456789ab';
const OTHER = 'other-file-ba9876543210';

/** Runs the registrations plan for `sourceId` on a staging fixture into the test's lake. */
const transform = (sourceId: string, fixture: string, extra: Partial<TransformRequest> = {}) =>
  transformFixture(lake.dir, sourceId, fixture, { threads: 1 }, extra);

/** Every file of the lake with a hash of its bytes: equal snapshots mean nothing changed. */
function snapshot(): Record<string, string> {
  return Object.fromEntries(
    filesUnder(lake.dir).map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(path.join(lake.dir, f)))
        .digest('hex'),
    ]),
  );
}

const object = (day: string, sourceId: string) =>
  `curated/registrations/event_date=${day}/${sourceId}.snappy.parquet`;

async function tableRows(): Promise<Record<string, unknown>[]> {
  return reader.rows(
    `SELECT registration_id, event_date, attendee_notes FROM ${reader.curated(lake.dir, 'registrations')}
     ORDER BY registration_id`,
  );
}

describe('re-runs replace exactly their own output', () => {
  test('rows that moved partitions: own stale object removed, the other file untouched', async () => {
    await transform(OTHER, 'other-source');
    await transform(MINE, 'rerun-v1');
    const otherBefore = snapshot();

    const manifest = await transform(MINE, 'rerun-v2', { versionTag: 'v2' });

    expect(manifest.objects).toEqual([object('2024-01-02', MINE), object('2024-01-03', MINE)]);
    expect(manifest.partitions).toEqual(['2024-01-02', '2024-01-03']);
    const after = snapshot();
    expect(after[object('2024-01-01', MINE)]).toBeUndefined();
    for (const key of [
      object('2024-01-01', OTHER),
      object('2024-01-02', OTHER),
      `manifests/registrations/${OTHER}.json`,
    ]) {
      expect(after[key]).toBe(otherBefore[key]);
    }
    expect(await tableRows()).toEqual([
      { registration_id: 'REG-00000011', event_date: '2024-01-02', attendee_notes: 'v2 moved' },
      { registration_id: 'REG-00000012', event_date: '2024-01-03', attendee_notes: 'v2 moved' },
      { registration_id: 'REG-00000091', event_date: '2024-01-01', attendee_notes: 'other' },
      { registration_id: 'REG-00000092', event_date: '2024-01-02', attendee_notes: 'other' },
    ]);
    expect(readManifest(lake.dir, 'registrations', MINE)).toMatchObject({ versionTag: 'v2', rowsOut: 2 });
  });

  test('running the same file twice writes the same objects and no duplicate rows', async () => {
    const first = await transform(MINE, 'dedupe');
    const second = await transform(MINE, 'dedupe');

    expect(second.objects).toEqual(first.objects);
    expect(await tableRows()).toHaveLength(first.rowsOut);
  });

  test('zero valid rows: no objects, manifest says 0, and the earlier run of the file is removed', async () => {
    await transform(OTHER, 'other-source');
    await transform(MINE, 'rerun-v1');

    const manifest = await transform(MINE, 'zero-rows', { versionTag: 'v3' });

    expect(manifest).toMatchObject({
      rowsIn: 0,
      rowsOut: 0,
      duplicatesDropped: 0,
      partitions: [],
      objects: [],
    });
    expect(filesUnder(lake.dir).filter((f) => f.includes(MINE))).toEqual([
      `manifests/registrations/${MINE}.json`,
    ]);
    expect((await tableRows()).map((r) => r.registration_id)).toEqual(['REG-00000091', 'REG-00000092']);
  });

  test('a staging folder holding only _SUCCESS is a file with zero valid rows', async () => {
    const manifest = await transform(MINE, 'success-only');

    expect(manifest).toMatchObject({ rowsIn: 0, rowsOut: 0, objects: [] });
    expect(filesUnder(lake.dir)).toEqual([`manifests/registrations/${MINE}.json`]);
  });

  test('two runs of one source at once publish one after the other, never interleaved', async () => {
    await Promise.all([transform(MINE, 'rerun-v1'), transform(MINE, 'rerun-v2', { versionTag: 'v2' })]);

    const manifest = readManifest(lake.dir, 'registrations', MINE);
    expect(filesUnder(path.join(lake.dir, 'curated')).map((f) => `curated/${f}`)).toEqual(manifest.objects);
    const notes = new Set((await tableRows()).map((r) => r.attendee_notes));
    expect(notes).toEqual(new Set([manifest.versionTag === 'v2' ? 'v2 moved' : 'v1']));
    expect(filesUnder(path.join(lake.dir, '_tmp'))).toEqual([]);
  });

  test('the staging input is never modified', async () => {
    const stagingFile = path.join(staging('registrations', 'dedupe'), 'part-00000.jsonl');
    const before = readFileSync(stagingFile);

    await transform(MINE, 'dedupe');

    expect(readFileSync(stagingFile).equals(before)).toBe(true);
  });
});

describe('nothing half-written is ever visible', () => {
  test('a crash after the temp write leaves the previous output and manifest exactly as they were', async () => {
    await transform(OTHER, 'other-source');
    await transform(MINE, 'rerun-v1');
    const before = snapshot();

    const crashed = runTransform(
      {
        plan: registrationsPlan(),
        sourceId: MINE,
        versionTag: 'v2',
        stagingDir: staging('registrations', 'rerun-v2'),
        lakeDir: lake.dir,
      },
      {
        threads: 1,
        hooks: {
          afterTempWrite: () => {
            throw new Error('simulated crash after the temp write');
          },
        },
      },
    );

    await expect(crashed).rejects.toThrow('simulated crash');
    expect(snapshot()).toEqual(before);
  });

  test('a crash on the first run of a file leaves no curated object and no manifest', async () => {
    let sawTempFiles = 0;
    const crashed = runTransform(
      {
        plan: registrationsPlan(),
        sourceId: MINE,
        versionTag: 'v1',
        stagingDir: staging('registrations', 'dedupe'),
        lakeDir: lake.dir,
      },
      {
        threads: 1,
        hooks: {
          afterTempWrite: (tempDir) => {
            sawTempFiles = filesUnder(tempDir).filter((f) => f.endsWith('.parquet')).length;
            throw new Error('simulated crash after the temp write');
          },
        },
      },
    );

    await expect(crashed).rejects.toThrow('simulated crash');
    expect(sawTempFiles).toBeGreaterThan(0);
    expect(filesUnder(lake.dir)).toEqual([]);
  });

  test('temp folders of this source left by a run killed over a day ago are swept; others stay', async () => {
    const killedLongAgo = path.join(lake.dir, '_tmp', `${MINE}-0123456789ab`);
    const killedRecently = path.join(lake.dir, '_tmp', `${MINE}-ba9876543210`);
    const otherSource = path.join(lake.dir, '_tmp', `${OTHER}-0123456789ab`);
    for (const dir of [killedLongAgo, killedRecently, otherSource]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'half.parquet'), 'partial');
    }
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600_000);
    utimesSync(killedLongAgo, twoDaysAgo, twoDaysAgo);
    utimesSync(otherSource, twoDaysAgo, twoDaysAgo);

    await transform(MINE, 'one-day');

    expect(filesUnder(path.join(lake.dir, '_tmp'))).toEqual([
      `${OTHER}-0123456789ab/half.parquet`,
      `${MINE}-ba9876543210/half.parquet`,
    ]);
  });
});

describe('bad staging is refused with a clear error', () => {
  test('a staging folder without _SUCCESS is refused and nothing is written', async () => {
    const run = transform(MINE, 'no-success');

    await expect(run).rejects.toThrow(TransformFailedError);
    await expect(run).rejects.toThrow(/no-success has no _SUCCESS marker.*re-run the validate step/);
    expect(filesUnder(lake.dir)).toEqual([]);
  });

  test('a value that is not canonical fails the transform, naming the line and column', async () => {
    await transform(MINE, 'rerun-v1');
    const before = snapshot();

    const run = transform(MINE, 'not-canonical');

    await expect(run).rejects.toThrow(TransformFailedError);
    await expect(run).rejects.toThrow(
      /staging line 3, column amount: "1\.5" is not canonical decimal\(12,2\) text/,
    );
    expect(snapshot()).toEqual(before);
  });

  test('a value that is not canonical fails even in a duplicate that loses the dedupe', async () => {
    // Generated from the dedupe fixture: line 2 ("first") loses to line 3, and its amount is 1.5.
    const stagingDir = path.join(lake.dir, 'staging-losing-row');
    mkdirSync(stagingDir);
    const lines = readFileSync(path.join(staging('registrations', 'dedupe'), 'part-00000.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ _line: 2, attendee_notes: 'first' });
    lines[0]!.amount = '1.5';
    writeFileSync(
      path.join(stagingDir, 'part-00000.jsonl'),
      lines.map((l) => `${JSON.stringify(l)}\n`).join(''),
    );
    writeFileSync(path.join(stagingDir, '_SUCCESS'), '');

    const run = transform(MINE, 'unused', { stagingDir });

    await expect(run).rejects.toThrow(
      /staging line 2, column amount: "1\.5" is not canonical decimal\(12,2\) text/,
    );
    expect(filesUnder(lake.dir).filter((f) => !f.startsWith('staging-losing-row/'))).toEqual([]);
  });

  test('a date that does not exist fails the cast instead of becoming null', async () => {
    const run = transform(MINE, 'impossible-date');

    await expect(run).rejects.toThrow(TransformFailedError);
    await expect(run).rejects.toThrow(/staging line 2, column event_date: "2024-02-30" is not a valid date/);
    expect(filesUnder(lake.dir)).toEqual([]);
  });

  test('staging written under another contract version is refused, naming the columns', async () => {
    const run = transform(MINE, 'other-contract');

    await expect(run).rejects.toThrow(
      /other-contract\/part-00000\.jsonl: staging columns do not match the registrations plan; missing "attendee_notes"; unexpected "comment"/,
    );
    expect(filesUnder(lake.dir)).toEqual([]);
  });

  test('an empty key is refused, naming the line, instead of merging keyless rows', async () => {
    const run = transform(MINE, 'empty-key');

    await expect(run).rejects.toThrow(
      /staging line 3, column registration_id: is empty, but it is a key or partition column/,
    );
    expect(filesUnder(lake.dir)).toEqual([]);
  });

  test('a plan from another dataset, or a source id that is not a sourceIdOf() id, is refused', async () => {
    await expect(transform(MINE, 'dedupe', { dataset: 'payments' })).rejects.toThrow(
      /plan is for dataset "registrations", the request for "payments"/,
    );
    await expect(transform('../escape', 'dedupe')).rejects.toThrow(/is not a core\/layout sourceIdOf\(\) id/);
    expect(filesUnder(lake.dir)).toEqual([]);
  });
});
