/**
 * The differential suite of sql-fast-path.test.ts once more with the SQL fast path deciding the
 * rows (`ETL_FASTPATH_CHECKS=sql`, csv/sql-validate.ts) — the default is the checked fast path
 * (csv/checked-fast-path.ts), and contracts with a rule its byte checks lack still take this one.
 */
process.env.ETL_FASTPATH_CHECKS = 'sql';
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./sql-fast-path.test');
