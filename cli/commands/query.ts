/**
 * `etl query "<SQL>"`: SQL over the local lake, with the tables the Glue catalog would have.
 */
import { lakeTables, queryLake } from '../../local/lake-query';
import { EXIT, UsageError, type CliIo } from '../io';
import { cellText, table } from '../render';
import { homeOf, schemasDirOf, type HomeFlag, type SchemasFlag } from './shared';

export async function queryCommand(
  sql: string,
  opts: HomeFlag & SchemasFlag & { json?: boolean },
  io: CliIo,
): Promise<number> {
  const home = homeOf(opts, io);
  const schemasDir = schemasDirOf(opts, io).dir;
  if (lakeTables(home.lakeDir, schemasDir).length === 0)
    throw new UsageError(`no tables yet in ${home.lakeDir}: run a file first (etl run <file.csv>)`);
  let result;
  try {
    result = await queryLake(home.lakeDir, sql, schemasDir, home.sinksDir);
  } catch (e) {
    const tables = lakeTables(home.lakeDir, schemasDir)
      .map((t) => t.table)
      .join(', ');
    throw new UsageError(`query failed: ${(e as Error).message}\n  tables: ${tables}`);
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
