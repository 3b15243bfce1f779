/**
 * The reliability suite's bench: a throw-away local home with the real pipeline (the same ASL,
 * handlers and DuckDB engine `etl run` uses), plus the observations every scenario needs —
 * where the original bytes are now, what the lake exposes, and every file the home holds.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3ObjectCreatedEvent } from '../../core/events';
import { sourceIdOf } from '../../core/layout';
import type { ObjectInfo } from '../../core/ports';
import { homeAt } from '../../local/home';
import { queryLake } from '../../local/lake-query';
import { objectCreatedEvent } from '../../local/landing';
import { createLocalPipeline, type EngineName, type LocalPipeline } from '../../local/pipeline';
import type { RunRecord } from '../../local/run-record';
import type { RunOptions } from '../../local/runtime';

export const REPO = path.resolve(__dirname, '../..');
export const FIXTURES = path.join(REPO, 'test/fixtures/reliability');
export const LOCAL_FIXTURES = path.join(REPO, 'test/fixtures/local');

export function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

/** One object put into the landing bucket, with the event S3 would send for it. */
export interface Landed {
  readonly key: string;
  readonly bytes: Buffer;
  readonly info: ObjectInfo;
  readonly event: S3ObjectCreatedEvent;
}

/** Runs `jobs` with at most `limit` in flight; results in input order. */
export async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  job: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await job(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class ReliabilityHome {
  readonly root: string;
  readonly pipeline: LocalPipeline;

  /**
   * @param root use this (new, empty) folder as the home instead of a fresh temp folder
   * @param engine the Transform engine @default 'duckdb'
   * @param transformLambdaMaxBytes the routing threshold (TransformEngine) @default 0: every file
   *   takes the Glue path, the one these scenarios (Glue faults, kills mid-Transform) were written for
   */
  constructor(
    prefix = 'etl-reliability-',
    root?: string,
    engine: EngineName = 'duckdb',
    transformLambdaMaxBytes = 0,
  ) {
    this.root = root ?? mkdtempSync(path.join(tmpdir(), prefix));
    this.pipeline = createLocalPipeline({ home: homeAt(this.root), engine, transformLambdaMaxBytes });
  }

  get home() {
    return this.pipeline.home;
  }

  /** Puts bytes at `key` in the landing bucket (a new version, as S3 would) and builds its event. */
  async land(key: string, bytes: Buffer | string): Promise<Landed> {
    const body = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
    const info = await this.pipeline.store.put(this.home.landingBucket, key, body, {
      contentType: 'text/csv',
    });
    return { key, bytes: body, info, event: objectCreatedEvent(this.home.landingBucket, info) };
  }

  /**
   * Starts a run and waits for its end. Concurrent runs of one home take turns through the catalog
   * states (StartCrawl..PollCrawl): locally a crawl by one run can exhaust another's PollCrawl
   * budget in milliseconds (GAP-7, crawl-budget.test.ts), which is not what other scenarios test.
   */
  run(event: S3ObjectCreatedEvent, options: RunOptions = {}): Promise<RunRecord> {
    const turn = this.crawlTurn(options.beforeTask);
    return this.pipeline.runtime
      .start(event, { ...options, beforeTask: turn.beforeTask })
      .done.finally(turn.release);
  }

  /** RedriveExecution, taking turns through the catalog states like {@link run}. */
  redrive(runId: string, options: Omit<RunOptions, 'runId'> = {}): Promise<RunRecord> {
    const turn = this.crawlTurn(options.beforeTask);
    return this.pipeline.runtime
      .redrive(runId, { ...options, beforeTask: turn.beforeTask })
      .done.finally(turn.release);
  }

  private catalogQueue: Promise<void> = Promise.resolve();

  private crawlTurn(inner: RunOptions['beforeTask']) {
    let state: 'waiting' | 'holding' | 'done' = 'waiting';
    let release = () => {};
    const beforeTask = async (name: string, input: unknown) => {
      const catalogState = name === 'StartCrawl' || name === 'PollCrawl';
      if (catalogState && state === 'waiting') {
        const previous = this.catalogQueue;
        this.catalogQueue = new Promise<void>((r) => (release = r));
        await previous;
        state = 'holding';
      } else if (!catalogState && state === 'holding') {
        state = 'done';
        release();
      }
      await inner?.(name, input);
    };
    return { beforeTask, release: () => release() };
  }

  /** Lake keys (relative, `/`-separated) of curated Parquet objects, optionally of one dataset. */
  curatedObjects(dataset?: string): string[] {
    const dir = path.join(this.home.lakeDir, 'curated', ...(dataset ? [dataset] : []));
    return filesUnder(dir).map((f) => path.relative(this.home.lakeDir, f).split(path.sep).join('/'));
  }

  /** Curated objects and manifests written for one landing key (named by its source id). */
  outputsOfKey(dataset: string, key: string): string[] {
    const id = sourceIdOf(key);
    const lake = this.home.lakeDir;
    return [
      ...this.curatedObjects(dataset).filter((k) => k.endsWith(`/${id}.snappy.parquet`)),
      ...(existsSync(path.join(lake, 'manifests', dataset, `${id}.json`))
        ? [`manifests/${dataset}/${id}.json`]
        : []),
    ];
  }

  /** `etl query`'s engine over this home's lake. */
  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    return (await queryLake(this.home.lakeDir, sql)).rows as T[];
  }

  /** Rows of one landing key's curated objects (read straight from its Parquet files). */
  async rowsOfKey<T = Record<string, unknown>>(dataset: string, key: string): Promise<T[]> {
    const id = sourceIdOf(key);
    if (!this.outputsOfKey(dataset, key).some((k) => k.startsWith('curated/'))) return [];
    const glob = path.join(this.home.lakeDir, 'curated', dataset, '*', `${id}.snappy.parquet`);
    // The glob is built from the lake folder and a hash-based id: nothing from the key itself.
    return this.query<T>(
      `SELECT * FROM read_parquet('${glob.replace(/'/g, "''")}', hive_partitioning = true)`,
    );
  }

  /**
   * Where the original bytes of a finished run are now: the landing key (current version),
   * the quarantined copy or the archived copy. Returns every location holding exactly `bytes`.
   */
  originalLocations(record: RunRecord, landed: Landed): string[] {
    const found: string[] = [];
    const candidates = [
      this.pipeline.store.pathOf(this.home.landingBucket, landed.key),
      record.outputs.quarantine,
      record.outputs.archive,
    ].filter((p): p is string => typeof p === 'string');
    for (const file of candidates) {
      if (existsSync(file) && statSync(file).isFile() && readFileSync(file).equals(landed.bytes))
        found.push(file);
    }
    return found;
  }

  /** Every file under the home: relative path → sha256 (the whole-home snapshot for diffs). */
  snapshot(): Map<string, string> {
    return snapshotOf(this.root);
  }

  dispose(): void {
    this.pipeline.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Files (not folders) under `dir`, recursively; [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Every file under `root`: relative path → sha256 of its bytes. */
export function snapshotOf(root: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const f of filesUnder(root)) {
    map.set(path.relative(root, f), createHash('sha256').update(readFileSync(f)).digest('hex'));
  }
  return map;
}

/** Paths added or changed between two snapshots. */
export function changedPaths(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after.entries()]
    .filter(([p, h]) => before.get(p) !== h)
    .map(([p]) => p)
    .sort();
}
