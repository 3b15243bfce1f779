/**
 * Transform parity: the embedded DuckDB engine (the reference) and the Glue PySpark job on local
 * Spark run the same plans over the same canonical staging fixtures (test/fixtures/parity/cases),
 * and must leave the same lake: same object names, same Parquet types, same rows, same manifests
 * (except engine and timings).
 *
 * DuckDB's output is also checked against golden expectations (expected.json per case, reviewed
 * by hand: see each case's `why`), so the reference itself cannot drift unnoticed, and that half
 * runs even where Spark is not installed. Spark starts ONCE for the whole suite (one batch), in a
 * machine time zone with DST (America/St_Johns) to prove the job never uses the machine's zone.
 *
 * Parquet staging (issue 13, core/staging.ts): every case runs again with its staging converted
 * to typed Parquet parts (test/support/parquet-staging.ts), on DuckDB (folder and store paths) and
 * on Spark, and each must leave exactly the lake DuckDB leaves from the JSON Lines staging. A run
 * whose JSON Lines text is not canonical cannot be typed: its Parquet twin keeps that column as
 * VARCHAR, and both engines must refuse it naming the part and the column. The last describe
 * holds Parquet staging that does not match the plan (types, names, order, NaN, years, null keys,
 * a prefix with both kinds of part): refused by both engines, nothing written.
 *
 * Regenerate goldens after a deliberate change: UPDATE_PARITY_GOLDENS=1 jest test/parity — then
 * review the diff of every expected.json.
 */
import {
  copyFileSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseContract } from '../../core/contract';
import { lake, sourceIdOf } from '../../core/layout';
import { compilePlan, fileColumns, type TransformPlan } from '../../core/plan';
import type { TransformManifest } from '../../core/steps';
import { LocalObjectStore } from '../../adapters/local/object-store';
import { runTransform, runTransformOnStore } from '../../transform/duckdb';
import type { TransformRequest } from '../../transform/request';
import { runSparkTransforms } from '../../transform/spark';
import { requirePythonSide } from '../support/python';
import { DuckDBInstance } from '@duckdb/node-api';
import { allRows, semanticType, snapshotLake, type CuratedObject, type LakeSnapshot } from './lake-snapshot';
import { writeParquetStaging, type MismatchedColumn } from '../support/parquet-staging';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'parity');
const UPDATE_GOLDENS = process.env.UPDATE_PARITY_GOLDENS === '1';

interface CaseRun {
  readonly sourceKey: string;
  /** Folder under the case holding part-*.jsonl (+ _SUCCESS). */
  readonly staging: string;
  readonly versionTag: string;
  /** When set, the run must fail with a message containing every one of these. */
  readonly fails?: readonly string[];
}

interface ParityCase {
  readonly name: string;
  readonly why: string;
  readonly dataset: string;
  readonly runs: readonly CaseRun[];
}

/** What a case must produce, reviewed by hand. */
interface Golden {
  readonly files: readonly string[];
  readonly manifests: Readonly<
    Record<string, Omit<TransformManifest, 'engine' | 'startedAt' | 'finishedAt' | 'timingsMs'>>
  >;
  readonly schema: readonly { name: string; type: string; repetition: string | null }[];
  readonly rows: readonly Record<string, string | null>[];
}

type Outcome = { ok: true; manifest: TransformManifest } | { ok: false; message: string };

const cases: ParityCase[] = readdirSync(path.join(FIXTURES, 'cases'))
  .sort()
  .map((name) => ({
    name,
    ...(JSON.parse(readFileSync(path.join(FIXTURES, 'cases', name, 'case.json'), 'utf8')) as Omit<
      ParityCase,
      'name'
    >),
  }));

function planFor(dataset: string): TransformPlan {
  const file = path.join(FIXTURES, 'contracts', `${dataset}.schema.json`);
  return compilePlan(parseContract(dataset, readFileSync(file, 'utf8'), file));
}

/**
 * Sort order for rows: the dedupe key, then the object they sit in; without a key, every column
 * (rows that are equal in every column are interchangeable).
 */
function sortColumns(plan: TransformPlan): string[] {
  const names = plan.dedupe
    ? plan.dedupe.key.map((k) => plan.columns.find((c) => c.source === k)!.name)
    : [...fileColumns(plan).map((c) => c.name), '__partition'];
  return [...names, '__object'];
}

/**
 * Lays out one case in a fresh lake folder per engine: each run's staging copied to its
 * lake.stagingPrefix (fixtures are never modified), with the plan.json the validate step writes.
 */
function prepare(root: string, c: ParityCase): TransformRequest[] {
  const lakeDir = path.join(root, c.name, 'lake');
  const plan = planFor(c.dataset);
  return c.runs.map((run) => {
    const sourceId = sourceIdOf(run.sourceKey);
    const stagingDir = path.join(lakeDir, lake.stagingPrefix(c.dataset, sourceId, run.versionTag));
    cpSync(path.join(FIXTURES, 'cases', c.name, run.staging), stagingDir, { recursive: true });
    writeFileSync(path.join(stagingDir, 'plan.json'), JSON.stringify(plan));
    return { plan, dataset: c.dataset, sourceId, versionTag: run.versionTag, stagingDir, lakeDir };
  });
}

/**
 * The same layout with each run's staging as Parquet parts (writeParquetStaging). Returns the
 * requests and, per run, the columns its conversion had to leave VARCHAR (non-canonical text).
 */
async function prepareParquet(
  root: string,
  c: ParityCase,
): Promise<{ requests: TransformRequest[]; mismatched: MismatchedColumn[][] }> {
  const lakeDir = path.join(root, c.name, 'lake');
  const plan = planFor(c.dataset);
  const requests: TransformRequest[] = [];
  const mismatched: MismatchedColumn[][] = [];
  for (const run of c.runs) {
    const sourceId = sourceIdOf(run.sourceKey);
    const stagingDir = path.join(lakeDir, lake.stagingPrefix(c.dataset, sourceId, run.versionTag));
    mismatched.push(
      await writeParquetStaging(plan, path.join(FIXTURES, 'cases', c.name, run.staging), stagingDir),
    );
    writeFileSync(path.join(stagingDir, 'plan.json'), JSON.stringify(plan));
    requests.push({ plan, dataset: c.dataset, sourceId, versionTag: run.versionTag, stagingDir, lakeDir });
  }
  return { requests, mismatched };
}

/** What a run of the case must fail with on Parquet staging: its own words, or the mismatched part and column. */
function parquetFails(run: CaseRun, mismatched: readonly MismatchedColumn[]): readonly string[] | undefined {
  const first = mismatched[0];
  return first ? [first.part, `staging column ${first.column}`] : run.fails;
}

type EngineRuns = { outcomes: Outcome[]; lake: LakeSnapshot };

async function runDuckdb(requests: readonly TransformRequest[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const request of requests) {
    try {
      outcomes.push({ ok: true, manifest: await runTransform(request, { threads: 1 }) });
    } catch (e) {
      outcomes.push({ ok: false, message: (e as Error).message });
    }
  }
  return outcomes;
}

/** The Lambda path: each request's lake folder is bucket "lake" of a LocalObjectStore rooted at its parent. */
async function runStore(requests: readonly TransformRequest[], scratchDir: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const request of requests) {
    try {
      const { stagingDir: _s, lakeDir, ...target } = request;
      const objectStore = new LocalObjectStore(path.dirname(lakeDir));
      const manifest = await runTransformOnStore(
        { ...target, store: objectStore, lakeBucket: path.basename(lakeDir), scratchDir },
        { threads: 1 },
      );
      outcomes.push({ ok: true, manifest });
    } catch (e) {
      outcomes.push({ ok: false, message: (e as Error).message });
    }
  }
  return outcomes;
}

/**
 * Parquet staging that does not match the plan, made from numeric_limits' staging (parity_mix:
 * every type, int64 and decimal extremes): each rewrites the Parquet part with one column changed.
 * `columns` maps the plan's staging column list (plus `_line`) to the SELECT list; `fails` is what
 * every engine's message must contain.
 */
const BAD_PARQUET: readonly {
  name: string;
  columns?: (columns: string[]) => string[];
  /** Instead of a rewrite: lay out the staging folder by hand (given the good Parquet part and the JSONL fixture). */
  layout?: (stagingDir: string, jsonlDir: string) => void;
  fails: readonly string[];
}[] = [
  {
    name: 'an integer written as int32',
    columns: (cs) => cs.map((c) => (c === 'line_no' ? `CAST(line_no AS INTEGER) AS line_no` : c)),
    fails: ['part-00000.parquet', 'staging column line_no', 'never cast'],
  },
  {
    name: 'a timestamp written without UTC adjustment',
    columns: (cs) => cs.map((c) => (c === 'updated_at' ? `CAST(updated_at AS TIMESTAMP) AS updated_at` : c)),
    fails: ['part-00000.parquet', 'staging column updated_at', 'never cast'],
  },
  {
    name: 'a decimal of another scale',
    columns: (cs) => cs.map((c) => (c === 'ratio' ? `CAST(ratio AS DECIMAL(6,5)) AS ratio` : c)),
    fails: ['part-00000.parquet', 'staging column ratio', 'never cast'],
  },
  {
    name: 'a string written as bytes',
    columns: (cs) => cs.map((c) => (c === 'label' ? `CAST(label AS BLOB) AS label` : c)),
    fails: ['part-00000.parquet', 'staging column label', 'never cast'],
  },
  {
    name: 'a missing column',
    columns: (cs) => cs.filter((c) => c !== 'comment'),
    fails: ['part-00000.parquet', 'missing column "comment"'],
  },
  {
    name: 'an extra column',
    columns: (cs) => [...cs, `'x' AS extra`],
    fails: ['part-00000.parquet', 'unexpected column "extra"'],
  },
  {
    name: 'columns out of order',
    columns: (cs) => [cs[1]!, cs[0]!, ...cs.slice(2)],
    fails: ['part-00000.parquet', 'out of order'],
  },
  {
    name: 'a NaN double',
    columns: (cs) =>
      cs.map((c) => (c === 'score' ? `CASE WHEN _line = 3 THEN 'NaN'::DOUBLE ELSE score END AS score` : c)),
    fails: ['staging line 3', 'column score', 'NaN'],
  },
  {
    name: 'a date past year 9999',
    columns: (cs) =>
      cs.map((c) =>
        c === 'sale_date' ? `CASE WHEN _line = 4 THEN DATE '10000-01-01' ELSE sale_date END AS sale_date` : c,
      ),
    fails: ['staging line 4', 'column sale_date', 'years 0001-9999'],
  },
  {
    name: 'an instant past year 9999',
    columns: (cs) =>
      cs.map((c) =>
        c === 'updated_at'
          ? `CASE WHEN _line = 2 THEN TIMESTAMPTZ '10000-01-01 00:00:00+00' ELSE updated_at END AS updated_at`
          : c,
      ),
    fails: ['staging line 2', 'column updated_at', 'years 0001-9999'],
  },
  {
    name: 'a null key value',
    columns: (cs) =>
      cs.map((c) => (c === 'order_id' ? `CASE WHEN _line = 3 THEN NULL ELSE order_id END AS order_id` : c)),
    fails: ['staging line 3', 'column order_id', 'key or partition column'],
  },
  {
    name: 'a prefix with both JSON Lines and Parquet parts',
    layout: (stagingDir, jsonlDir) => {
      renameSync(path.join(stagingDir, 'part-00000.parquet'), path.join(stagingDir, 'part-00001.parquet'));
      copyFileSync(path.join(jsonlDir, 'part-00000.jsonl'), path.join(stagingDir, 'part-00000.jsonl'));
    },
    fails: ['both JSON Lines parts (part-00000.jsonl) and Parquet parts (part-00001.parquet)'],
  },
  {
    name: 'a part that is not Parquet',
    layout: (stagingDir, jsonlDir) =>
      copyFileSync(path.join(jsonlDir, 'part-00000.jsonl'), path.join(stagingDir, 'part-00000.parquet')),
    fails: ['part-00000.parquet', 'not a readable Parquet staging part'],
  },
];

/** Lays out every BAD_PARQUET staging three times (DuckDB folder, store, Spark), each in a lake of its own. */
async function prepareBadParquet(
  root: string,
): Promise<{ name: string; duckdb: TransformRequest; store: TransformRequest; spark: TransformRequest }[]> {
  const base = cases.find((c) => c.name === 'numeric_limits')!;
  const plan = planFor(base.dataset);
  const jsonlDir = path.join(FIXTURES, 'cases', base.name, base.runs[0]!.staging);
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  const out = [];
  try {
    for (const [i, bad] of BAD_PARQUET.entries()) {
      const requests = [];
      for (const engine of ['duckdb', 'store', 'spark']) {
        const lakeDir = path.join(root, `${engine}-${i}`, 'lake');
        const sourceId = sourceIdOf(base.runs[0]!.sourceKey);
        const stagingDir = path.join(lakeDir, lake.stagingPrefix(base.dataset, sourceId, 'v1bad'));
        await writeParquetStaging(plan, jsonlDir, stagingDir);
        const part = path.join(stagingDir, 'part-00000.parquet');
        if (bad.columns) {
          const select = bad.columns([...plan.stagingColumns, '_line']).join(', ');
          await connection.run(`SET TimeZone = 'UTC'`);
          await connection.run(
            `COPY (SELECT ${select} FROM read_parquet('${part}')) TO '${part}.new' (FORMAT parquet)`,
          );
          renameSync(`${part}.new`, part);
        }
        bad.layout?.(stagingDir, jsonlDir);
        writeFileSync(path.join(stagingDir, 'plan.json'), JSON.stringify(plan));
        requests.push({ plan, dataset: base.dataset, sourceId, versionTag: 'v1bad', stagingDir, lakeDir });
      }
      out.push({ name: bad.name, duckdb: requests[0]!, store: requests[1]!, spark: requests[2]! });
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return out;
}

const work = mkdtempSync(path.join(tmpdir(), 'etl-parity-'));
const sparkAvailable = requirePythonSide('spark', 'parity suite (Spark half)');
const duckdb = new Map<string, { outcomes: Outcome[]; lake: LakeSnapshot }>();
/** The Transform Lambda's path: the same engine through runTransformOnStore over an ObjectStore. */
const store = new Map<string, { outcomes: Outcome[]; lake: LakeSnapshot }>();
const spark = new Map<string, { outcomes: Outcome[]; lake: LakeSnapshot }>();
/** Each case again from Parquet staging: DuckDB folder path, store path, Spark; and what each run must fail with. */
const duckdbParquet = new Map<string, EngineRuns>();
const storeParquet = new Map<string, EngineRuns>();
const sparkParquet = new Map<string, EngineRuns>();
const parquetMismatched = new Map<string, MismatchedColumn[][]>();
/** Parquet staging that does not match the plan (the last describe), per engine. */
const badParquet = new Map<string, { duckdb: Outcome; store: Outcome; spark?: Outcome; lakes: string[] }>();

beforeAll(async () => {
  const sparkRequests: { c: ParityCase; request: TransformRequest }[] = [];
  const sparkParquetRequests: { c: ParityCase; request: TransformRequest }[] = [];
  for (const c of cases) {
    const outcomes: Outcome[] = [];
    for (const request of prepare(path.join(work, 'duckdb'), c)) {
      try {
        outcomes.push({ ok: true, manifest: await runTransform(request, { threads: 1 }) });
      } catch (e) {
        outcomes.push({ ok: false, message: (e as Error).message });
      }
    }
    duckdb.set(c.name, { outcomes, lake: await snapshotLake(path.join(work, 'duckdb', c.name, 'lake')) });
    // The Lambda path: staging read from the store's lake bucket (LocalObjectStore: bucket "lake"
    // is the case's lake folder), copied to a scratch folder outside it, published by puts.
    const storeOutcomes: Outcome[] = [];
    const objectStore = new LocalObjectStore(path.join(work, 'store', c.name));
    const scratchDir = path.join(work, 'store-scratch', c.name);
    for (const request of prepare(path.join(work, 'store'), c)) {
      try {
        const { stagingDir: _s, lakeDir: _l, ...target } = request;
        const manifest = await runTransformOnStore(
          { ...target, store: objectStore, lakeBucket: 'lake', scratchDir },
          { threads: 1 },
        );
        storeOutcomes.push({ ok: true, manifest });
      } catch (e) {
        storeOutcomes.push({ ok: false, message: (e as Error).message });
      }
    }
    store.set(c.name, {
      outcomes: storeOutcomes,
      lake: await snapshotLake(path.join(work, 'store', c.name, 'lake')),
    });
    if (sparkAvailable) {
      for (const request of prepare(path.join(work, 'spark'), c)) sparkRequests.push({ c, request });
    }

    const onParquet = await prepareParquet(path.join(work, 'duckdb-parquet'), c);
    parquetMismatched.set(c.name, onParquet.mismatched);
    duckdbParquet.set(c.name, {
      outcomes: await runDuckdb(onParquet.requests),
      lake: await snapshotLake(path.join(work, 'duckdb-parquet', c.name, 'lake')),
    });
    const storeRequests = (await prepareParquet(path.join(work, 'store-parquet'), c)).requests;
    storeParquet.set(c.name, {
      outcomes: await runStore(storeRequests, path.join(work, 'store-parquet-scratch', c.name)),
      lake: await snapshotLake(path.join(work, 'store-parquet', c.name, 'lake')),
    });
    if (sparkAvailable) {
      for (const request of (await prepareParquet(path.join(work, 'spark-parquet'), c)).requests)
        sparkParquetRequests.push({ c, request });
    }
  }
  const badRequests = await prepareBadParquet(path.join(work, 'bad-parquet'));
  for (const bad of badRequests) {
    const [duckdbOutcome] = await runDuckdb([bad.duckdb]);
    const [storeOutcome] = await runStore([bad.store], path.join(work, 'bad-parquet-scratch', bad.name));
    badParquet.set(bad.name, {
      duckdb: duckdbOutcome!,
      store: storeOutcome!,
      lakes: [
        path.dirname(bad.duckdb.lakeDir),
        path.dirname(bad.store.lakeDir),
        path.dirname(bad.spark.lakeDir),
      ],
    });
  }
  if (sparkAvailable) {
    // Spark runs in a zone with DST and a half-hour offset, as on a laptop in Newfoundland: the
    // job's UTC session zone, not the machine's, must decide every date and instant.
    const machineZone = process.env.TZ;
    process.env.TZ = 'America/St_Johns';
    let results;
    try {
      results = await runSparkTransforms([
        ...sparkRequests.map((r) => r.request),
        ...sparkParquetRequests.map((r) => r.request),
        ...badRequests.map((b) => b.spark),
      ]);
    } finally {
      if (machineZone === undefined) delete process.env.TZ;
      else process.env.TZ = machineZone;
    }
    for (const c of cases) {
      const outcomes: Outcome[] = results
        .slice(0, sparkRequests.length)
        .filter((_, i) => sparkRequests[i]!.c === c)
        .map((r) => (r.ok ? { ok: true, manifest: r.manifest } : { ok: false, message: r.error.message }));
      spark.set(c.name, { outcomes, lake: await snapshotLake(path.join(work, 'spark', c.name, 'lake')) });
      const offset = sparkRequests.length;
      const parquetOutcomes: Outcome[] = results
        .slice(offset, offset + sparkParquetRequests.length)
        .filter((_, i) => sparkParquetRequests[i]!.c === c)
        .map((r) => (r.ok ? { ok: true, manifest: r.manifest } : { ok: false, message: r.error.message }));
      sparkParquet.set(c.name, {
        outcomes: parquetOutcomes,
        lake: await snapshotLake(path.join(work, 'spark-parquet', c.name, 'lake')),
      });
    }
    const offset = sparkRequests.length + sparkParquetRequests.length;
    badRequests.forEach((bad, i) => {
      const r = results[offset + i]!;
      badParquet.get(bad.name)!.spark = r.ok
        ? { ok: true, manifest: r.manifest }
        : { ok: false, message: r.error.message };
    });
  }
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The comparable part of a manifest: everything but engine and times. */
function comparable(
  m: TransformManifest,
): Omit<TransformManifest, 'engine' | 'startedAt' | 'finishedAt' | 'timingsMs'> {
  const { engine: _e, startedAt: _s, finishedAt: _f, timingsMs: _t, ...rest } = m;
  return rest;
}

function schemaOf(o: CuratedObject): { name: string; type: string; repetition: string | null }[] {
  return o.schema.map((s) => ({ name: s.name, type: semanticType(s), repetition: s.repetition }));
}

function goldenOf(c: ParityCase, snapshot: LakeSnapshot): Golden {
  const plan = planFor(c.dataset);
  return {
    files: snapshot.files,
    manifests: Object.fromEntries(Object.entries(snapshot.manifests).map(([k, m]) => [k, comparable(m)])),
    schema: snapshot.objects[0] ? schemaOf(snapshot.objects[0]) : [],
    rows: allRows(snapshot, sortColumns(plan)),
  };
}

describe.each(cases)('$name', (c) => {
  const goldenFile = path.join(FIXTURES, 'cases', c.name, 'expected.json');

  test(`DuckDB (reference): ${c.why}`, () => {
    const { outcomes, lake: snapshot } = duckdb.get(c.name)!;
    c.runs.forEach((run, i) => {
      const outcome = outcomes[i]!;
      if (run.fails) {
        expect(outcome.ok).toBe(false);
        for (const words of run.fails) expect(outcome.ok ? '' : outcome.message).toContain(words);
      } else {
        expect(outcome).toMatchObject({ ok: true });
      }
    });
    expect(snapshot.leftovers).toEqual([]);
    const golden = goldenOf(c, snapshot);
    for (const o of snapshot.objects)
      expect({ key: o.key, schema: schemaOf(o) }).toEqual({ key: o.key, schema: golden.schema });
    if (UPDATE_GOLDENS) writeFileSync(goldenFile, `${JSON.stringify(golden, null, 2)}\n`);
    expect(existsSync(goldenFile)).toBe(true);
    expect(golden).toEqual(JSON.parse(readFileSync(goldenFile, 'utf8')));
  });

  test('the Transform Lambda path (runTransformOnStore over an ObjectStore) writes the same objects, types, rows and manifests as the folder path', () => {
    const d = duckdb.get(c.name)!;
    const l = store.get(c.name)!;
    expectSameLake(c, l, d, 'duckdb');
  });

  test('Parquet staging: DuckDB writes exactly what it writes from the JSON Lines staging (folder and store paths)', () => {
    const mismatched = parquetMismatched.get(c.name)!;
    // Only a run meant to fail may have text that cannot be typed, else the case lost its rows.
    c.runs.forEach((run, i) =>
      expect({ run: i, mismatched: mismatched[i]!.length > 0 && !run.fails }).toEqual({
        run: i,
        mismatched: false,
      }),
    );
    const fails = c.runs.map((run, i) => parquetFails(run, mismatched[i]!));
    expectSameLake(c, duckdbParquet.get(c.name)!, duckdb.get(c.name)!, 'duckdb', fails);
    expectSameLake(c, storeParquet.get(c.name)!, duckdb.get(c.name)!, 'duckdb', fails);
  });

  if (sparkAvailable) {
    test('Parquet staging: Spark (the Glue job) writes exactly what DuckDB writes from the JSON Lines staging', () => {
      const mismatched = parquetMismatched.get(c.name)!;
      const fails = c.runs.map((run, i) => parquetFails(run, mismatched[i]!));
      expectSameLake(c, sparkParquet.get(c.name)!, duckdb.get(c.name)!, 'spark', fails);
    });

    test('the Transform Lambda path writes exactly what Spark (the Glue job) writes', () => {
      expectSameLake(c, store.get(c.name)!, spark.get(c.name)!, 'duckdb');
    });

    test('Spark writes the same objects, types, rows and manifests as DuckDB', () => {
      const d = duckdb.get(c.name)!;
      const s = spark.get(c.name)!;
      // Same outcome per run; a failure fails in both, for the same named reason.
      c.runs.forEach((run, i) => {
        expect({ run: i, ok: s.outcomes[i]!.ok }).toEqual({ run: i, ok: d.outcomes[i]!.ok });
        if (run.fails)
          for (const words of run.fails)
            expect(s.outcomes[i]).toMatchObject({ message: expect.stringContaining(words) });
      });
      expect(s.lake.leftovers).toEqual([]);
      expect(s.lake.files).toEqual(d.lake.files);
      for (const [key, manifest] of Object.entries(d.lake.manifests)) {
        expect(s.lake.manifests[key]!.engine).toBe('spark');
        expect(comparable(s.lake.manifests[key]!)).toEqual(comparable(manifest));
      }
      for (const object of d.lake.objects) {
        const twin = s.lake.objects.find((o) => o.key === object.key)!;
        expect({ key: twin.key, schema: schemaOf(twin) }).toEqual({
          key: object.key,
          schema: schemaOf(object),
        });
        expect(twin.compression).toEqual(['SNAPPY']);
      }
      const order = sortColumns(planFor(c.dataset));
      expect(allRows(s.lake, order)).toEqual(allRows(d.lake, order));
    });
  }
});

/**
 * `actual` (engine `engine` in its manifests) left the same lake as `expected`: same outcome per run
 * (a failure for the same named reason), no leftovers, same object names, manifests (but engine
 * and times), Parquet schemas, Snappy, and rows.
 */
function expectSameLake(
  c: ParityCase,
  actual: { outcomes: Outcome[]; lake: LakeSnapshot },
  expected: { outcomes: Outcome[]; lake: LakeSnapshot },
  engine: TransformManifest['engine'],
  /** What each run of `actual` must fail with. @default each run's `fails` */
  fails: readonly (readonly string[] | undefined)[] = c.runs.map((r) => r.fails),
): void {
  c.runs.forEach((_run, i) => {
    expect({ run: i, ok: actual.outcomes[i]!.ok }).toEqual({ run: i, ok: expected.outcomes[i]!.ok });
    for (const words of fails[i] ?? [])
      expect(actual.outcomes[i]).toMatchObject({ message: expect.stringContaining(words) });
  });
  expect(actual.lake.leftovers).toEqual([]);
  expect(actual.lake.files).toEqual(expected.lake.files);
  for (const [key, manifest] of Object.entries(expected.lake.manifests)) {
    expect(actual.lake.manifests[key]!.engine).toBe(engine);
    expect(comparable(actual.lake.manifests[key]!)).toEqual(comparable(manifest));
  }
  for (const object of expected.lake.objects) {
    const twin = actual.lake.objects.find((o) => o.key === object.key)!;
    expect({ key: twin.key, schema: schemaOf(twin) }).toEqual({ key: object.key, schema: schemaOf(object) });
    expect(twin.compression).toEqual(['SNAPPY']);
  }
  const order = sortColumns(planFor(c.dataset));
  expect(allRows(actual.lake, order)).toEqual(allRows(expected.lake, order));
}

test('every object is Snappy and one per (source file, partition value), or one per file without a partition — split into parts of at most maxRowsPerFile rows', () => {
  for (const c of cases) {
    const { lake: snapshot } = duckdb.get(c.name)!;
    const plan = planFor(c.dataset);
    const partition = plan.partition;
    const max = plan.output.maxRowsPerFile;
    for (const o of snapshot.objects) {
      expect({ key: o.key, compression: o.compression }).toEqual({ key: o.key, compression: ['SNAPPY'] });
      expect({ key: o.key, rows: o.rows.length <= max }).toEqual({ key: o.key, rows: true });
    }
    for (const m of Object.values(snapshot.manifests)) {
      const rowsIn = (key: string) => snapshot.objects.find((o) => o.key === key)!.rows.length;
      const partsOf = (value: string | null) => {
        const keys: string[] = [];
        for (let part = 0; ; part++) {
          const key = lake.curatedObject(m.dataset, partition?.name ?? null, value, m.sourceId, part);
          if (!m.objects.includes(key)) break;
          keys.push(key);
        }
        // Every part but the last is full: a split never makes more objects than it needs.
        keys.slice(0, -1).forEach((k) => expect({ key: k, rows: rowsIn(k) }).toEqual({ key: k, rows: max }));
        return keys;
      };
      const expected = partition
        ? m.partitions.flatMap((value) => partsOf(value))
        : m.rowsOut > 0
          ? partsOf(null)
          : [];
      expect(m.objects).toEqual([...expected].sort());
      if (!partition) expect(m.partitions).toEqual([]);
    }
  }
});

test('the split cases really split: more than one part per partition on the reference engine', () => {
  for (const name of ['split_by_max_rows', 'split_rerun_drops_extra_parts', 'split_without_key']) {
    const { lake: snapshot } = duckdb.get(name)!;
    expect({ name, parts: snapshot.objects.some((o) => o.key.includes('.part-00001.')) }).toEqual({
      name,
      parts: true,
    });
  }
});

describe.each(BAD_PARQUET)('Parquet staging that does not match the plan: $name', (bad) => {
  test('DuckDB (folder and store paths) refuses it, naming the part or line and the column; nothing is written', async () => {
    const { duckdb: d, store: l, lakes } = badParquet.get(bad.name)!;
    for (const outcome of [d, l]) {
      expect(outcome.ok).toBe(false);
      for (const words of bad.fails)
        expect(outcome).toMatchObject({ message: expect.stringContaining(words) });
    }
    for (const lakeDir of lakes.slice(0, 2)) {
      const snapshot = await snapshotLake(path.join(lakeDir, 'lake'));
      expect({ files: snapshot.files, leftovers: snapshot.leftovers }).toEqual({ files: [], leftovers: [] });
    }
  });

  if (sparkAvailable) {
    test('Spark (the Glue job) refuses it the same way; nothing is written', async () => {
      const { spark: s, lakes } = badParquet.get(bad.name)!;
      expect(s!.ok).toBe(false);
      for (const words of bad.fails) expect(s).toMatchObject({ message: expect.stringContaining(words) });
      const snapshot = await snapshotLake(path.join(lakes[2]!, 'lake'));
      expect({ files: snapshot.files, leftovers: snapshot.leftovers }).toEqual({ files: [], leftovers: [] });
    });
  }
});
