/**
 * What a transform left in a local lake folder, read the same way whichever engine wrote it:
 * every curated object's rows (values as DuckDB's text, so a difference in type or value shows),
 * its Parquet schema and compression, the manifests, and any leftover temp files.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { TransformManifest } from '../../core/steps';

/** One leaf column of a Parquet file, as DuckDB's parquet_schema() describes it. */
export interface ParquetColumn {
  readonly name: string;
  readonly physical: string | null;
  readonly converted: string | null;
  readonly logical: string | null;
  readonly precision: string | null;
  readonly scale: string | null;
  readonly repetition: string | null;
}

export interface CuratedObject {
  /** Lake key. */
  readonly key: string;
  readonly schema: readonly ParquetColumn[];
  readonly compression: readonly string[];
  /** Rows as text (null stays null), each with `__partition`: the folder `<key>=<value>`, or null. */
  readonly rows: readonly Record<string, string | null>[];
}

export interface LakeSnapshot {
  /** Every file under curated/ and manifests/, lake-relative, sorted. */
  readonly files: readonly string[];
  /** Files anywhere else except staging/ (in-flight work that should be gone), sorted. */
  readonly leftovers: readonly string[];
  readonly objects: readonly CuratedObject[];
  readonly manifests: Readonly<Record<string, TransformManifest>>;
}

function walk(dir: string, base: string = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory()
      ? walk(full, base)
      : [path.relative(base, full).split(path.sep).join('/')];
  });
}

const sql = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** Reads a lake folder. Values are `CAST(... AS VARCHAR)` with the session zone UTC. */
export async function snapshotLake(lakeDir: string): Promise<LakeSnapshot> {
  const all = walk(lakeDir).sort();
  const files = all.filter((f) => f.startsWith('curated/') || f.startsWith('manifests/'));
  const leftovers = all.filter((f) => !files.includes(f) && !f.startsWith('staging/'));
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const objects: CuratedObject[] = [];
    for (const key of files.filter((f) => f.endsWith('.parquet'))) {
      const file = path.join(lakeDir, key);
      const folder = /^curated\/[^/]+\/([^/]+=[^/]+)\/[^/]+$/.exec(key)?.[1] ?? null;
      const schema = (
        await connection.runAndReadAll(
          `SELECT name, type, converted_type, logical_type, precision, scale, repetition_type
           FROM parquet_schema(${sql(file)}) WHERE num_children IS NULL OR num_children = 0`,
        )
      )
        .getRows()
        .map(([name, physical, converted, logical, precision, scale, repetition]) => ({
          name: String(name),
          physical: physical === null ? null : String(physical),
          converted: converted === null ? null : String(converted),
          logical: logical === null ? null : String(logical),
          precision: precision === null ? null : String(precision),
          scale: scale === null ? null : String(scale),
          repetition: repetition === null ? null : String(repetition),
        }));
      const compression = (
        await connection.runAndReadAll(
          `SELECT DISTINCT compression FROM parquet_metadata(${sql(file)}) ORDER BY 1`,
        )
      )
        .getRows()
        .map(([c]) => String(c));
      // Each value as JSON text, parsed here: @duckdb/node-api decodes a VARCHAR that starts with
      // U+FEFF without that character (a BOM-stripping decoder), which would hide a lost BOM.
      const reader = await connection.runAndReadAll(
        `SELECT to_json(CAST(COLUMNS(*) AS VARCHAR)) FROM read_parquet(${sql(file)}, hive_partitioning = false)`,
      );
      const names = reader.columnNames();
      const rows = reader.getRows().map((values) => {
        const row: Record<string, string | null> = { __partition: folder };
        names.forEach(
          (n, i) => (row[n] = values[i] === null ? null : (JSON.parse(String(values[i])) as string)),
        );
        return row;
      });
      objects.push({ key, schema, compression, rows });
    }
    const manifests: Record<string, TransformManifest> = {};
    for (const key of files.filter((f) => f.startsWith('manifests/'))) {
      manifests[key] = JSON.parse(readFileSync(path.join(lakeDir, key), 'utf8')) as TransformManifest;
    }
    return { files, leftovers, objects, manifests };
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

/**
 * A column's type by what it means, not by how each writer spells it. Spark annotates strings
 * with both the UTF8 converted type and the String logical type, DuckDB with UTF8 only; DuckDB
 * annotates 64-bit integers INT_64, Spark leaves them plain INT64. By the Parquet spec each pair
 * means the same (UTF8 ≡ String; an unannotated INT64 is a signed 64-bit integer) and Athena reads
 * them alike. Everything else must match exactly, physical type included; anything unrecognised
 * is returned raw so it shows up in a diff.
 */
export function semanticType(c: ParquetColumn): string {
  const { physical, converted, logical } = c;
  if (physical === 'BYTE_ARRAY' && converted === 'UTF8' && (logical === null || logical === 'StringType()'))
    return 'STRING';
  if (
    physical === 'INT64' &&
    (converted === null || converted === 'INT_64') &&
    (logical === null || /^IntType\(bitWidth=64, isSigned=(1|true)\)$/.test(logical))
  )
    return 'INT64';
  if (converted === 'DECIMAL') return `DECIMAL(${c.precision},${c.scale}) as ${physical}`;
  if (physical === 'INT32' && converted === 'DATE') return 'DATE';
  if (
    physical === 'INT64' &&
    logical !== null &&
    /^TimestampType\(isAdjustedToUTC=(1|true), unit=.*MICROS=MicroSeconds\(\)/.test(logical)
  )
    return 'TIMESTAMP(adjustedToUTC, MICROS)';
  if ((physical === 'DOUBLE' || physical === 'BOOLEAN') && converted === null && logical === null)
    return physical;
  return JSON.stringify({ physical, converted, logical });
}

/** Every row of every object, with `__object` (the file name), sorted by the given columns. */
export function allRows(snapshot: LakeSnapshot, sortBy: readonly string[]): Record<string, string | null>[] {
  const rows = snapshot.objects.flatMap((o) =>
    o.rows.map((r) => ({ __object: o.key.slice(o.key.lastIndexOf('/') + 1), ...r })),
  );
  const keyOf = (r: Record<string, string | null>): string => JSON.stringify(sortBy.map((c) => r[c]));
  return rows.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
}
