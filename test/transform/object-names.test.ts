/**
 * Curated object names (core/layout): part 0 keeps the one-object name, parts n ≥ 1 of a split
 * partition sit beside it, and a re-run may replace or remove only its own file's objects. The
 * Glue job's copy of these rules is held to the same cases in glue/tests/test_plan_v2.py.
 */
import { curatedFileName, lake } from '../../core/layout';

const SOURCE = 'orders-0123456789ab';

test('part 0 is <sourceId>.snappy.parquet, part n is <sourceId>.part-0000n.snappy.parquet', () => {
  expect(lake.curatedObject('t', 'm', '2024-02', SOURCE)).toBe(
    `curated/t/m=2024-02/${SOURCE}.snappy.parquet`,
  );
  expect(lake.curatedObject('t', 'm', '2024-02', SOURCE, 1)).toBe(
    `curated/t/m=2024-02/${SOURCE}.part-00001.snappy.parquet`,
  );
  expect(lake.curatedObject('t', null, null, SOURCE, 12)).toBe(
    `curated/t/${SOURCE}.part-00012.snappy.parquet`,
  );
  expect(() => curatedFileName(SOURCE, -1)).toThrow(RangeError);
});

test.each([
  [`curated/t/${SOURCE}.snappy.parquet`, true],
  [`curated/t/m=2024-02/${SOURCE}.snappy.parquet`, true],
  [`curated/t/m=2024-02/${SOURCE}.part-00001.snappy.parquet`, true],
  [`curated/t/${SOURCE}.part-00012.snappy.parquet`, true],
  [`curated/t/region=eu-west.1/${SOURCE}.snappy.parquet`, true],
  [`curated/t/m=2024-02/${SOURCE}.part-1.snappy.parquet`, false],
  [`curated/t/m=2024-02/${SOURCE}-00001.snappy.parquet`, false],
  // Another source whose id starts like this one's is never this one's.
  [`curated/t/m=2024-02/${SOURCE}-x.snappy.parquet`, false],
  [`curated/t/x-${SOURCE}.snappy.parquet`, false],
  [`curated/t/region=__HIVE_DEFAULT_PARTITION__/${SOURCE}.snappy.parquet`, false],
  [`curated/t/a=1/b=2/${SOURCE}.snappy.parquet`, false],
  [`curated/other/${SOURCE}.snappy.parquet`, false],
])("%s is this file's own object: %s", (key, owned) => {
  expect(lake.isCuratedObjectOf(key, 't', SOURCE)).toBe(owned);
});
