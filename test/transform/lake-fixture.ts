/**
 * What the transform tests share: a fresh lake folder per scenario, the staging fixtures, the
 * plans compiled from contracts, and a DuckDB reader that looks at the lake the way a user's
 * query would (read_parquet over curated/, Hive partitions).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { findContract, parseContract } from '../../core/contract';
import { compilePlan, type TransformPlan } from '../../core/plan';
import type { TransformManifest } from '../../core/steps';
import { runTransform, type DuckdbEngineOptions } from '../../transform/duckdb';
import type { TransformRequest } from '../../transform/request';

export const FIXTURES = path.resolve(__dirname, '../fixtures/transform');

/** Staging fixture folder (read-only: the engine never writes to staging). */
export const staging = (dataset: 'registrations' | 'kitchen_sink', name: string): string =>
  path.join(FIXTURES, dataset, name);

/**
 * The shipped registrations contract (schemas/) partitioned by DAY, as it was before issue 12 moved
 * the sample to month partitions: the engine tests need many partitions from small fixtures (400
 * days → 400 objects). Everything else is the shipped contract's.
 */
export function registrationsPlan(): TransformPlan {
  const { file } = findContract('registrations')!;
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { partition: unknown };
  doc.partition = { column: 'event_date', granularity: 'day' };
  return compilePlan(parseContract('registrations', JSON.stringify(doc), file));
}

/** Every plan type, a rename, a dropped dedupe column, nullable sort columns, firstLine ties. */
export function kitchenSinkPlan(): TransformPlan {
  const file = path.join(FIXTURES, 'kitchen_sink.schema.json');
  return compilePlan(parseContract('kitchen_sink', readFileSync(file, 'utf8'), file));
}

/** A new empty lake folder under the OS temp dir; `remove()` deletes it. */
/**
 * Runs the DuckDB engine on one staging fixture (version v1) into `lakeDir`: the registrations
 * plan unless `extra.plan` says otherwise, the fixture folder of that plan's dataset.
 */
export function transformFixture(
  lakeDir: string,
  sourceId: string,
  fixture: string,
  options: DuckdbEngineOptions = { threads: 1 },
  extra: Partial<TransformRequest> = {},
): Promise<TransformManifest> {
  const plan = extra.plan ?? registrationsPlan();
  return runTransform(
    {
      plan,
      sourceId,
      versionTag: 'v1',
      stagingDir: staging(plan.dataset as 'registrations' | 'kitchen_sink', fixture),
      lakeDir,
      ...extra,
    },
    options,
  );
}

export function freshLake(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'transform-lake-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every file under `dir`, as `/`-separated paths relative to it, sorted. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)).split(path.sep).join('/'))
    .sort();
}

export function readManifest(lakeDir: string, dataset: string, sourceId: string): TransformManifest {
  return JSON.parse(
    readFileSync(path.join(lakeDir, 'manifests', dataset, `${sourceId}.json`), 'utf8'),
  ) as TransformManifest;
}

/** SQL string literal for a path in a test query. */
export const lit = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** A DuckDB connection for reading results back. */
export class LakeReader {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(): Promise<LakeReader> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const connection = await instance.connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    return new LakeReader(instance, connection);
  }

  /** Rows as JSON-friendly objects (BIGINT and DECIMAL come back as strings). */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    return (await this.connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  }

  /** The curated table the way a query engine sees it: every object, partition column from the folder. */
  curated(lakeDir: string, dataset: string): string {
    return `read_parquet(${lit(path.join(lakeDir, 'curated', dataset, '*', '*.parquet'))}, hive_partitioning = true, hive_types_autocast = false)`;
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
