/**
 * Names `etl init` gives: a column's SQL name from its header text, and a dataset's name from its
 * file name. The header text itself is kept as the column's `source`, so nothing is lost here —
 * the name only has to be safe everywhere the column goes (Glue, Athena, Spark, DuckDB, Parquet).
 */
import path from 'node:path';
import { DATASET_NAME } from '../core/dataset-name';

/** The contract's column name rule (core/contract.ts IDENTIFIER). */
export const COLUMN_NAME = /^[a-z_][a-z0-9_]{0,127}$/;

/**
 * Words Athena's query engine reserves (DML): a column named `order` or `select` has to be
 * double-quoted in every query, so such a name gets a trailing `_` instead. (`date`, `user`,
 * `time` … are reserved only in Athena's DDL, which the pipeline never writes by hand: the Glue
 * table is created through the API.)
 */
const RESERVED = new Set(
  (
    'alter and as between by case cast constraint create cross cube current_date current_path ' +
    'current_time current_timestamp current_user deallocate delete describe distinct drop else end ' +
    'escape except execute exists extract false first for from full group grouping having in inner ' +
    'insert intersect into is join last left like listagg localtime localtimestamp natural normalize ' +
    'not null of on or order outer prepare recursive right rollup select skip table then true uescape ' +
    'union unnest using values when where with'
  ).split(' '),
);

/** Letters NFKD does not decompose into ASCII. */
const TRANSLITERATE: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  Æ: 'ae',
  œ: 'oe',
  Œ: 'oe',
  ø: 'o',
  Ø: 'o',
  ł: 'l',
  Ł: 'l',
  đ: 'd',
  Đ: 'd',
  ð: 'd',
  Ð: 'd',
  þ: 'th',
  Þ: 'th',
  ı: 'i',
};

/** Symbols spelled as words of their own (`Cost %` → `cost_pct`). */
const SYMBOLS: Record<string, string> = {
  '€': 'eur',
  '£': 'gbp',
  '%': 'pct',
  '#': 'no',
  '&': 'and',
  '@': 'at',
};

/**
 * Lower-case ASCII words of a text: accents dropped (`Café` → `cafe`), a few letters spelled out,
 * camelCase split (`AirportName` → `airport_name`), anything else a separator. Characters with no
 * ASCII spelling (`東京`) are dropped.
 */
export function snakeWords(text: string): string {
  const spelled = [...text.normalize('NFKD')]
    .map((ch) => TRANSLITERATE[ch] ?? (SYMBOLS[ch] !== undefined ? ` ${SYMBOLS[ch]} ` : ch))
    .join('')
    .replace(/\p{M}/gu, '');
  return spelled
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * SQL names for a header, in order: snake_case words, never starting with a digit (`2019 Pop` →
 * `col_2019_pop`), reserved words suffixed (`Order` → `order_`), at most 128 characters, unique
 * (`_2`, `_3` … on a clash), and `column_<n>` when the header text has no usable character.
 */
export function columnNames(headers: readonly string[]): string[] {
  return uniqueColumnNames(headers.map((header) => snakeWords(header)));
}

/**
 * The {@link columnNames} rule on names already in snake_case words (JSON paths named by
 * csv/json-flatten's columnNameOfPath): `column_<n>` for an empty one, `col_` before a digit,
 * reserved words suffixed, at most 128 characters, unique.
 */
export function uniqueColumnNames(bases: readonly string[]): string[] {
  const used = new Set<string>();
  return bases.map((snake, i) => {
    let base = snake;
    if (base === '') base = `column_${i + 1}`;
    if (/^[0-9]/.test(base)) base = `col_${base}`;
    if (RESERVED.has(base)) base = `${base}_`;
    base = base.slice(0, 120);
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
    used.add(name);
    return name;
  });
}

/**
 * The dataset name `etl init` proposes for a file: its name without the extension, lower-cased,
 * accents dropped, other characters `_` (a hyphen is kept when the dataset-name rule allows it),
 * `data_` in front when it would start with a digit; undefined when nothing usable is left.
 */
export function datasetNameOf(file: string): string | undefined {
  const stem = path.basename(file).replace(/(\.[A-Za-z0-9]{1,5})+$/, '');
  const words = [...stem.normalize('NFKD')]
    .map((ch) => TRANSLITERATE[ch] ?? ch)
    .join('')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '_')
    .replace(/^[_-]+|[_-]+$/g, '');
  if (words === '') return undefined;
  let name = /^[0-9]/.test(words) ? `data_${words}` : words;
  name = name.slice(0, 63).replace(/[_-]+$/, '');
  if (DATASET_NAME.test(name)) return name;
  const underscored = name.replace(/-/g, '_');
  return DATASET_NAME.test(underscored) ? underscored : undefined;
}
