/**
 * The differential suite of sql-fast-path.test.ts once more with the checked fast path writing CSV
 * staging (`ETL_STAGING_FORMAT=csv`, core/staging.ts) — what it writes by default on one core — read
 * back through the transform's own reader: the same rows, typed, `_line` included, as the JavaScript
 * path's JSON Lines.
 */
process.env.ETL_STAGING_FORMAT = 'csv';
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./sql-fast-path.test');
