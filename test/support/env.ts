/**
 * Jest setup: every test runs the same on any machine. The validate step's checked fast path picks
 * CSV staging by the machine's core count when ETL_STAGING_FORMAT is unset (functions/validate
 * `stagingFormat: 'auto'`), so tests fix it to Parquet unless they ask for CSV themselves (a test file
 * that sets the variable, or `stagingFormat` in the step's deps).
 */
process.env.ETL_STAGING_FORMAT ??= 'parquet';
