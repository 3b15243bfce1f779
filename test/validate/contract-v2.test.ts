/**
 * The validate step with contract v2 (issue 11): headers found by each column's `source` (any
 * text), staging keyed by `name`, text partitions checked, relaxQuotes, and HEADER_MISMATCH
 * messages that show the header found and the delimiter it splits on.
 */
import path from 'node:path';
import { FIXTURES, TestLake } from './harness';

const V2_SCHEMAS = path.join(FIXTURES, 'schemas-v2');
const HEADER = 'Airport Name,Cost Total $,Städte ✈,Region';

let lake: TestLake;
beforeEach(() => {
  lake = new TestLake();
});
afterEach(() => lake.dispose());

const validate = async (key: string, text: string) =>
  lake.validate(await lake.upload(key, text), { schemasDir: V2_SCHEMAS });
const rejection = (key: string, text: string) => lake.rejection(key, text, { schemasDir: V2_SCHEMAS });

describe('contract v2 in the validate step', () => {
  // The default path (the checked fast path's CSV staging) and the streaming path (JSON Lines).
  test.each([
    { path: 'default path', fastPath: undefined },
    { path: 'streaming path', fastPath: false },
  ] as const)(
    'headers with spaces, $ and unicode (after a BOM) are matched by source; staging is keyed by name ($path)',
    async ({ fastPath }) => {
      const csv = `\ufeff${HEADER}\r\nZürich Airport,"1,234.50",Zürich,EU\r\nJFK,10,New York,US\r\n`;

      const result = await lake.validate(
        await lake.upload('incoming/airport-costs/costs.csv', csv.replace('"1,234.50"', '1234.50')),
        { schemasDir: V2_SCHEMAS, fastPath },
      );

      expect(result).toMatchObject({ dataset: 'airport-costs', rowsValid: 2, rowsRejected: 0 });
      const rows = await lake.stagedRows(result, V2_SCHEMAS);
      expect(rows).toEqual([
        { airport_name: 'Zürich Airport', cost_total: '1234.50', stadt: 'Zürich', region: 'EU', _line: 2 },
        { airport_name: 'JFK', cost_total: '10.00', stadt: 'New York', region: 'US', _line: 3 },
      ]);
    },
  );

  test('exact duplicate lines without a key are all valid rows', async () => {
    const line = 'JFK,10,New York,US';
    const result = await validate(
      'incoming/airport-costs/dupes.csv',
      `${HEADER}\n${line}\n${line}\n${line}\n`,
    );

    expect(result).toMatchObject({ rowsValid: 3, rowsRejected: 0 });
  });

  test('a text partition value that cannot be a folder is a row error BAD_PARTITION_VALUE naming line, column and value', async () => {
    const csv = `${HEADER}\nJFK,10,New York,US\nLHR,20,London,EU/West\nCDG,30,Paris,EU\n`;

    const result = await validate('incoming/airport-costs/regions.csv', csv);

    expect(result).toMatchObject({ rowsValid: 2, rowsRejected: 1 });
    const [error] = await lake.jsonLines(result.rejects!.key);
    expect(error).toMatchObject({
      line: 3,
      column: 'Region',
      value: 'EU/West',
      reason: 'BAD_PARTITION_VALUE',
    });
    expect(error!.message).toMatch(/^line 3, column "Region": "EU\/West" cannot be a partition folder/);
  });

  test('row errors name the column as the file does (its source)', async () => {
    const result = await validate(
      'incoming/airport-costs/neg.csv',
      `${HEADER}\nJFK,-1,New York,US\nA,1,B,US\n`,
    );

    const [error] = await lake.jsonLines(result.rejects!.key);
    expect(error).toMatchObject({ line: 2, column: 'Cost Total $', reason: 'SCHEMA_VIOLATION' });
  });

  test('relaxQuotes: a quote inside an unquoted field is data, read by the fast splitter', async () => {
    const csv = 'id,Latitude\n1,37.8"N\n2,"51.5"" N"\n';

    const result = await validate('incoming/geo/points.csv', csv);

    expect(result).toMatchObject({ rowsValid: 2, rowsRejected: 0 });
    const rows = await lake.jsonLines(`${result.staging.key}part-00000.jsonl`);
    expect(rows.map((r) => r.lat)).toEqual(['37.8"N', '51.5" N']);
    // The checked fast path (which takes small files too) leaves such a quote to the splitter.
    expect((await lake.json(result.report.key)).csv).toEqual({
      reader: 'splitter',
      fastPathLeft: 'a quote inside an unquoted field (line 2)',
    });
  });

  test('without relaxQuotes the same file is MALFORMED_CSV, and the fix names relaxQuotes', async () => {
    const err = await rejection('incoming/geo_strict/points.csv', 'id,Latitude\n1,37.8"N\n');

    expect(err.reason).toBe('MALFORMED_CSV');
    expect(err.message).toMatch(/line 2 has a quote inside an unquoted field/);
    expect(err.message).toMatch(/"relaxQuotes": true/);
  });
});

describe('HEADER_MISMATCH says what it found', () => {
  test('a tab-separated file against a comma contract: the header read, the missing columns, and the delimiter to set', async () => {
    const err = await rejection('incoming/geo/points.tsv.csv', 'id\tLatitude\n1\t37.8\n');

    expect(err.reason).toBe('HEADER_MISMATCH');
    expect(err.message).toContain('header on line 1');
    expect(err.message).toContain('missing column(s) "id", "Latitude"');
    expect(err.message).toContain('the header on line 1 reads "id\\tLatitude"');
    expect(err.message).toContain(
      'the header splits on <tab> into the expected columns: set csv.delimiter to "\\t"',
    );
    expect(err.details).toMatchObject({ delimiter: '\t', missing: ['id', 'Latitude'] });
  });

  test.each([
    [';', 'id;Latitude', '";"'],
    ['|', 'id|Latitude', '"|"'],
  ])('a header separated by %s gets the hint for it', async (_d, header, shown) => {
    const err = await rejection('incoming/geo/p.csv', `${header}\n1\n`);

    expect(err.message).toContain(
      `the header splits on ${shown} into the expected columns: set csv.delimiter to ${shown}`,
    );
  });

  test('missing and unknown columns are both listed, with the header found', async () => {
    const err = await rejection('incoming/geo/p.csv', 'id,Lat,Long\n1,2,3\n');

    expect(err.reason).toBe('HEADER_MISMATCH');
    expect(err.message).toContain('missing column(s) "Latitude"');
    expect(err.message).toContain('unknown column(s) "Lat", "Long"');
    expect(err.message).toContain('the header on line 1 reads "id,Lat,Long"');
    expect(err.message).not.toContain('splits on');
    expect(err.details).toMatchObject({ missing: ['Latitude'], unknown: ['Lat', 'Long'] });
  });
});
