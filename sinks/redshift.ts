/**
 * The Redshift sink's SQL, SDK-free: what the Data API runs on AWS, what the local stand-in runs
 * in DuckDB and what test/sinks runs in PostgreSQL 15 — one set of statements, so the merge rules
 * are the same everywhere.
 *
 * A load is three phases:
 *  1. setup (idempotent, outside the transaction): the target table if missing;
 *  2. staging: a staging table for this version (`_etl_stage_<source hash>_<versionTag>`, dropped
 *     first), filled by `COPY … FORMAT AS PARQUET` from COPY manifests that list exactly this run's
 *     objects. A partition column that lives only in the folder names is not in the files, and
 *     COPY cannot read a path: each object then goes through a second staging table and an
 *     INSERT that adds its folder value;
 *  3. merge, ONE transaction: lock the target, delete this source's rows (and, with a key, rows
 *     with a staged key), insert the staged rows, drop the staging tables. Every statement is
 *     guarded by "no newer version of this source is loaded", so an older version loses.
 */
import { createHash } from 'node:crypto';
import type { RedshiftSinkConfig } from '../core/sinks';
import { quoteIdentifier, sqlLiteral } from './sql';
import { SINK_META_COLUMNS, type SinkColumn, type SinkRun, type SinkTable } from './table';

/** Redshift's type for each column type (also valid PostgreSQL and DuckDB). */
export function warehouseType(column: SinkColumn): string {
  switch (column.type) {
    case 'string':
      return 'VARCHAR(65535)';
    case 'integer':
      return 'BIGINT';
    case 'decimal':
      return `DECIMAL(${column.precision ?? 38}, ${column.scale ?? 0})`;
    case 'double':
      return 'DOUBLE PRECISION';
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMPTZ';
  }
}

export interface WarehouseStatements {
  /** `"schema"."table"` */
  readonly target: string;
  readonly stage: string;
  /** The file-shaped staging table a folder-only partition column needs (COPY target), else null. */
  readonly stageFile: string | null;
  /** Run once each, outside the transaction. */
  readonly setup: readonly string[];
  /**
   * Creates the (empty) staging table(s); the caller fills `stage` — by COPY on Redshift
   * ({@link copyStatements}), by INSERT elsewhere.
   */
  readonly createStage: readonly string[];
  /** One transaction. */
  readonly merge: readonly string[];
}

/** Columns inside the Parquet files, in file order (a folder-only partition column is not). */
export function fileColumns(table: SinkTable): readonly SinkColumn[] {
  return table.columns.filter((c) => c.name !== table.folderColumn);
}

const SOURCE_ID = /^[a-z0-9][a-z0-9-]{0,127}$/;
const VERSION_TAG = /^[0-9a-f]{12}$/;

export interface StatementOptions {
  /** `LOCK` the target in the merge (Redshift, PostgreSQL); DuckDB has no LOCK. @default true */
  readonly lock?: boolean;
}

export function warehouseStatements(
  run: SinkRun,
  table: SinkTable,
  target: Pick<RedshiftSinkConfig, 'schema' | 'table' | 'key'>,
  options: StatementOptions = {},
): WarehouseStatements {
  // Everything spliced into the SQL is checked here: ids the pipeline made, identifiers from the
  // contract. Row values never enter the text (they travel in Parquet).
  if (!SOURCE_ID.test(run.sourceId))
    throw new Error(`source id ${JSON.stringify(run.sourceId)} is not safe in SQL`);
  if (!VERSION_TAG.test(run.versionTag))
    throw new Error(`version tag ${JSON.stringify(run.versionTag)} is not safe in SQL`);
  if (run.sourceOrder !== null && !/^[0-9A-F]{64}$/.test(run.sourceOrder)) {
    throw new Error(`source order ${JSON.stringify(run.sourceOrder)} is not an order key`);
  }
  for (const k of target.key) {
    if (!table.columns.some((c) => c.name === k))
      throw new Error(`key column "${k}" is not an output column`);
  }
  const schema = quoteIdentifier(target.schema);
  const targetName = `${schema}.${quoteIdentifier(target.table)}`;
  const hash = createHash('sha256').update(run.sourceId).digest('hex').slice(0, 12);
  const stageName = `${schema}.${quoteIdentifier(`_etl_stage_${hash}_${run.versionTag}`)}`;
  const stageFileName = `${schema}.${quoteIdentifier(`_etl_stagef_${hash}_${run.versionTag}`)}`;
  const columns = table.columns.map((c) => quoteIdentifier(c.name));
  const meta = SINK_META_COLUMNS;
  const defs = (cols: readonly SinkColumn[]) =>
    cols.map((c) => `${quoteIdentifier(c.name)} ${warehouseType(c)}`);

  const createTarget = `CREATE TABLE IF NOT EXISTS ${targetName} (${[
    ...defs(table.columns),
    `${meta.sourceId} VARCHAR(128) NOT NULL`,
    `${meta.sourceVersion} VARCHAR(64) NOT NULL`,
    `${meta.sourceOrder} VARCHAR(64)`,
    `${meta.runId} VARCHAR(128)`,
  ].join(', ')})`;

  const sid = sqlLiteral(run.sourceId);
  // No newer version of this source in the target. Order keys are fixed-width upper-case hex:
  // text order is version order in any collation that sorts digits before letters.
  const noNewer =
    run.sourceOrder === null
      ? 'TRUE'
      : `NOT EXISTS (SELECT 1 FROM ${targetName} AS newer WHERE newer.${meta.sourceId} = ${sid} AND newer.${meta.sourceOrder} > ${sqlLiteral(run.sourceOrder)})`;
  const keyMatch = target.key
    .map((k) => `${targetName}.${quoteIdentifier(k)} = staged.${quoteIdentifier(k)}`)
    .join(' AND ');

  const merge = [
    ...(options.lock === false ? [] : [`LOCK ${targetName}`]),
    `DELETE FROM ${targetName} WHERE ${meta.sourceId} = ${sid} AND ${noNewer}`,
    ...(target.key.length > 0
      ? [`DELETE FROM ${targetName} USING ${stageName} AS staged WHERE ${keyMatch} AND ${noNewer}`]
      : []),
    `INSERT INTO ${targetName} (${[...columns, meta.sourceId, meta.sourceVersion, meta.sourceOrder, meta.runId].join(', ')}) ` +
      `SELECT ${[
        ...columns,
        sid,
        sqlLiteral(run.versionTag),
        run.sourceOrder === null ? 'CAST(NULL AS VARCHAR(64))' : sqlLiteral(run.sourceOrder),
        sqlLiteral(run.runId.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 128)),
      ].join(', ')} FROM ${stageName} WHERE ${noNewer}`,
    `DROP TABLE ${stageName}`,
    ...(table.folderColumn !== null ? [`DROP TABLE IF EXISTS ${stageFileName}`] : []),
  ];

  return {
    target: targetName,
    stage: stageName,
    setup: [createTarget],
    createStage: [
      `DROP TABLE IF EXISTS ${stageName}`,
      `CREATE TABLE ${stageName} (${defs(table.columns).join(', ')})`,
      ...(table.folderColumn !== null
        ? [
            `DROP TABLE IF EXISTS ${stageFileName}`,
            `CREATE TABLE ${stageFileName} (${defs(fileColumns(table)).join(', ')})`,
          ]
        : []),
    ],
    merge,
    stageFile: table.folderColumn !== null ? stageFileName : null,
  };
}

/** One object of the run with its size (COPY manifests for Parquet must carry `content_length`). */
export interface CopyObject {
  readonly key: string;
  readonly size: number;
}

export interface CopyManifest {
  readonly key: string;
  readonly body: string;
}

/** The lake key of a COPY manifest: next to the run's manifest, one folder per source version. */
export function copyManifestKey(run: SinkRun, name: string): string {
  return `manifests/${run.dataset}/${run.sourceId}.redshift/${run.versionTag}/${name}.manifest`;
}

function manifestBody(run: SinkRun, objects: readonly CopyObject[]): string {
  return JSON.stringify({
    entries: objects.map((o) => ({
      url: `s3://${run.bucket}/${o.key}`,
      mandatory: true,
      meta: { content_length: o.size },
    })),
  });
}

/** Statements per Data API batch (BatchExecuteStatement takes at most 40). */
export const MAX_BATCH_STATEMENTS = 40;

/**
 * The COPY manifests and statements that fill the staging table from exactly this run's
 * objects: one COPY over one manifest, or — with a folder-only partition column — per object a
 * COPY into the file-shaped staging table, an INSERT adding the folder value, and a DELETE
 * (not TRUNCATE: in Redshift TRUNCATE commits the transaction), in batches of at most 39.
 */
export function copyStatements(
  run: SinkRun,
  table: SinkTable,
  statements: WarehouseStatements,
  objects: readonly CopyObject[],
  iamRoleArn: string,
): { manifests: CopyManifest[]; batches: string[][] } {
  const role = sqlLiteral(iamRoleArn);
  const copy = (into: string, manifestKey: string) =>
    `COPY ${into} FROM ${sqlLiteral(`s3://${run.bucket}/${manifestKey}`)} IAM_ROLE ${role} FORMAT AS PARQUET MANIFEST`;
  if (objects.length === 0) return { manifests: [], batches: [] };
  if (table.folderColumn === null) {
    const key = copyManifestKey(run, 'all');
    return {
      manifests: [{ key, body: manifestBody(run, objects) }],
      batches: [[copy(statements.stage, key)]],
    };
  }
  const folder = table.folderColumn;
  const stageFile = statements.stageFile!;
  const column = table.columns.find((c) => c.name === folder)!;
  const inFile = fileColumns(table).map((c) => quoteIdentifier(c.name));
  const manifests: CopyManifest[] = [];
  const perObject: string[][] = objects.map((o, i) => {
    const value = folderValueOf(o.key, folder);
    const key = copyManifestKey(run, `part-${String(i).padStart(5, '0')}`);
    manifests.push({ key, body: manifestBody(run, [o]) });
    return [
      copy(stageFile, key),
      `INSERT INTO ${statements.stage} (${[...inFile, quoteIdentifier(folder)].join(', ')}) SELECT ${[
        ...inFile,
        `CAST(${sqlLiteral(value)} AS ${warehouseType(column)})`,
      ].join(', ')} FROM ${stageFile}`,
      `DELETE FROM ${stageFile}`,
    ];
  });
  const perBatch = Math.floor((MAX_BATCH_STATEMENTS - 1) / 3);
  const batches: string[][] = [];
  for (let i = 0; i < perObject.length; i += perBatch) batches.push(perObject.slice(i, i + perBatch).flat());
  return { manifests, batches };
}

/** The `<name>=<value>` folder value of a curated key (checked: core/plan PARTITION_VALUE). */
export function folderValueOf(key: string, folder: string): string {
  const match = new RegExp(`/${folder}=([A-Za-z0-9][A-Za-z0-9_.-]{0,99})/`).exec(key);
  if (!match) throw new Error(`curated object ${JSON.stringify(key)} has no ${folder}=<value>/ folder`);
  return match[1]!;
}
