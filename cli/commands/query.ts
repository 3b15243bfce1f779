/**
 * `etl query "<SQL>" [--param V]...`: SQL over the local lake, with the tables the Glue catalog
 * would have. Read-only for real (local/lake-query.ts): one SELECT, nothing else.
 */
import {
  lakeTables,
  queryLake,
  ReadOnlyQueryError,
  uncontractedDatasets,
  type QueryParameter,
} from '../../local/lake-query';
import { EXIT, UsageError, type CliIo } from '../io';
import { cellText, table } from '../render';
import { homeOf, schemasDirOf, type HomeFlag, type SchemasFlag } from './shared';

/**
 * A `--param` value as it is bound to its `?`, the same rule locally (DuckDB) and on a stack
 * (Athena ExecutionParameters): a whole number or a decimal becomes a number, `true`/`false` a
 * boolean, text in single quotes the text inside them (`'5'` stays the string "5"), anything else
 * the text itself.
 */
export function parseQueryParam(text: string): QueryParameter {
  if (/^'.*'$/s.test(text)) return text.slice(1, -1);
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  if (/^-?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

export async function queryCommand(
  sql: string,
  opts: HomeFlag & SchemasFlag & { json?: boolean; param?: readonly string[] },
  io: CliIo,
): Promise<number> {
  const home = homeOf(opts, io);
  const schemasDir = schemasDirOf(opts, io).dir;
  // Curated data whose contract is not in this contracts folder has no table here: on an error,
  // say so and how (looked up only then, not before every query).
  const unseenNote = () => {
    const unseen = uncontractedDatasets(home.lakeDir, schemasDir);
    return unseen.length === 0
      ? ''
      : `\n  curated data without a contract in ${schemasDir}: ${unseen.join(', ')} — pass --schemas <dir>, the contracts folder those runs used`;
  };
  if (lakeTables(home.lakeDir, schemasDir).length === 0) {
    const note = unseenNote();
    throw new UsageError(
      note === ''
        ? `no tables yet in ${home.lakeDir}: run a file first (etl run <file.csv>)`
        : `no tables in ${home.lakeDir} for the contracts in ${schemasDir}${note}`,
      note === '' ? EXIT.failed : EXIT.usage,
    );
  }
  let result;
  try {
    result = await queryLake(
      home.lakeDir,
      sql,
      schemasDir,
      home.sinksDir,
      (opts.param ?? []).map(parseQueryParam),
    );
  } catch (e) {
    if (e instanceof ReadOnlyQueryError) throw new UsageError(e.message, EXIT.usage);
    const tables = lakeTables(home.lakeDir, schemasDir)
      .map((t) => t.table)
      .join(', ');
    throw new UsageError(`query failed: ${(e as Error).message}\n  tables: ${tables}${unseenNote()}`);
  }
  if (opts.json) {
    io.out(`${JSON.stringify(result)}\n`);
    return EXIT.ok;
  }
  const rows = result.rows.map((r) => result.columns.map((c) => cellText(r[c])));
  io.out(
    `${table(result.columns, rows).join('\n')}\n(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})\n`,
  );
  return EXIT.ok;
}
