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
 * Regenerate goldens after a deliberate change: UPDATE_PARITY_GOLDENS=1 jest test/parity — then
 * review the diff of every expected.json.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
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
import { allRows, semanticType, snapshotLake, type CuratedObject, type LakeSnapshot } from './lake-snapshot';

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

const work = mkdtempSync(path.join(tmpdir(), 'etl-parity-'));
const sparkAvailable = requirePythonSide('spark', 'parity suite (Spark half)');
const duckdb = new Map<string, { outcomes: Outcome[]; lake: LakeSnapshot }>();
/** The Transform Lambda's path: the same engine through runTransformOnStore over an ObjectStore. */
const store = new Map<string, { outcomes: Outcome[]; lake: LakeSnapshot }>();
const spark = new Map<string, { outcomes: Outcome[]; lake: LakeSnapshot }>();

beforeAll(async () => {
  const sparkRequests: { c: ParityCase; request: TransformRequest }[] = [];
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
  }
  if (sparkAvailable) {
    // Spark runs in a zone with DST and a half-hour offset, as on a laptop in Newfoundland: the
    // job's UTC session zone, not the machine's, must decide every date and instant.
    const machineZone = process.env.TZ;
    process.env.TZ = 'America/St_Johns';
    let results;
    try {
      results = await runSparkTransforms(sparkRequests.map((r) => r.request));
    } finally {
      if (machineZone === undefined) delete process.env.TZ;
      else process.env.TZ = machineZone;
    }
    for (const c of cases) {
      const outcomes: Outcome[] = results
        .filter((_, i) => sparkRequests[i]!.c === c)
        .map((r) => (r.ok ? { ok: true, manifest: r.manifest } : { ok: false, message: r.error.message }));
      spark.set(c.name, { outcomes, lake: await snapshotLake(path.join(work, 'spark', c.name, 'lake')) });
    }
  }
}, 600_000);

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

  if (sparkAvailable) {
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
): void {
  c.runs.forEach((run, i) => {
    expect({ run: i, ok: actual.outcomes[i]!.ok }).toEqual({ run: i, ok: expected.outcomes[i]!.ok });
    if (run.fails)
      for (const words of run.fails)
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
