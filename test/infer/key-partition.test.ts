/** The primary key and partition decisions, each with a small file. */
import { inferText, lines } from './support';

describe('primary key', () => {
  test('an id column unique and never empty over the whole file is the key', async () => {
    const inference = await inferText('name,id\nA,1\nB,2\nC,3\n');
    expect(inference.key.columns).toEqual(['id']);
    expect(inference.contract.primaryKey).toEqual(['id']);
    expect(inference.key.why).toMatch(/"id" is never empty and unique over all 3 rows; its name says/);
  });

  test('a *_id column is preferred to the first column', async () => {
    const inference = await inferText('code_name,station_id\nA,10\nB,11\n');
    expect(inference.key.columns).toEqual(['station_id']);
  });

  test('the first column is the key when no name says id and it is unique', async () => {
    const inference = await inferText('Airport,City\nSFO,San Francisco\nOAK,Oakland\nSJC,San Jose\n');
    expect(inference.key.columns).toEqual(['airport']);
    expect(inference.key.why).toMatch(/it is the first column/);
  });

  test('a repeated value names both lines, and then there is no key', async () => {
    const inference = await inferText('id,v\n1,a\n2,b\n1,c\n');
    expect(inference.key.columns).toEqual([]);
    expect(inference.contract.primaryKey).toBeUndefined();
    expect(inference.key.why).toMatch(/id: "1" appears on line 2 and again on line 4/);
    expect(inference.key.why).toMatch(/Without a key every valid row is kept/);
  });

  test('exact duplicate lines: no key', async () => {
    const inference = await inferText('city,temp\nOslo,3\nOslo,3\nRome,15\n');
    expect(inference.key.columns).toEqual([]);
  });

  test('an empty id is no key', async () => {
    const inference = await inferText('id,v\n1,a\n,b\n');
    expect(inference.key.why).toMatch(/id: empty on line 3/);
    expect(inference.key.columns).toEqual([]);
  });

  test('a unique column whose name does not say id (and is not first) is not a key', async () => {
    const inference = await inferText('city,amount\nOslo,1\nOslo,2\n');
    expect(inference.key.columns).toEqual([]);
  });

  test('over the memory budget the column is dropped, and the reason says so', async () => {
    const text = lines('id,v', 200, (i) => `${i},x`);
    const inference = await inferText(text, { keyMemoryBytes: 2000 });
    expect(inference.key.columns).toEqual([]);
    expect(inference.key.why).toMatch(/too many distinct values to keep in memory/);
  });
});

describe('partition', () => {
  const day = (i: number) => new Date(Date.UTC(2021, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

  test('no date or timestamp column: no partition', async () => {
    const inference = await inferText('a,b\n1,2\n');
    expect(inference.partition).toMatchObject({ column: null });
    expect(inference.partition.why).toMatch(/no date or timestamp column/);
    expect(inference.contract.partition).toBeUndefined();
  });

  test('a date column with enough rows per day: day, the column itself is the folder', async () => {
    const text = lines('d,v', 40, (i) => `${day(i % 2)},${i}`);
    const inference = await inferText(text, { minRowsPerPartition: 20 });
    expect(inference.contract.partition).toEqual({ column: 'd', granularity: 'day' });
    expect(inference.partition).toMatchObject({ key: 'd', partitions: 2, medianRows: 20 });
  });

  test('too few rows per day: month', async () => {
    const text = lines('d,v', 60, (i) => `${day(i)},${i}`); // Jan 31 days, Feb 28, Mar 1
    const inference = await inferText(text, { minRowsPerPartition: 20 });
    expect(inference.contract.partition).toEqual({ column: 'd', granularity: 'month' });
    expect(inference.partition.why).toMatch(/day: 60 × median 1 rows, month: 3 × median 28 rows/);
  });

  test('a timestamp spanning years: the UTC date by year, a derived key', async () => {
    const text = lines('ts,v', 90, (i) => `${day(i * 12)}T23:30:00-02:00,${i}`);
    const inference = await inferText(text, { minRowsPerPartition: 20 });
    expect(inference.contract.partition).toEqual({ column: 'ts', granularity: 'year' });
    expect(inference.partition).toMatchObject({ key: 'ts_year', partitions: 3 });
    expect(inference.partition.why).toMatch(/the UTC date of "ts" by year/);
  });

  test('the UTC date decides the day of a timestamp with an offset', async () => {
    const text = lines('ts', 30, () => '2024-01-01T23:30:00-02:00');
    const inference = await inferText(text, { minRowsPerPartition: 10 });
    expect(inference.partition).toMatchObject({ column: 'ts', granularity: 'day', key: 'ts_day' });
    expect(inference.columns[0]!.days).toEqual(new Map([['2024-01-02', 30]]));
  });

  test('fewer rows than the threshold even by year: none, with the numbers', async () => {
    const text = lines('d', 10, (i) => day(i * 40));
    const inference = await inferText(text);
    expect(inference.partition.column).toBeNull();
    expect(inference.partition.why).toMatch(/all under 1,000 rows per partition/);
  });

  test('a date column with an empty cell is not a partition; a date before a timestamp', async () => {
    const text = lines(
      'ts,d,e',
      30,
      (i) => `2024-01-01T00:00:00Z,2024-01-0${1 + (i % 2)},${i === 3 ? '' : '2024-02-01'}`,
    );
    const inference = await inferText(text, { minRowsPerPartition: 10 });
    expect(inference.partition).toMatchObject({ column: 'd', granularity: 'day' });
    const nullable = lines('d,v', 30, (i) => `${i === 5 ? '' : '2024-01-01'},${i}`);
    const none = await inferText(nullable, { minRowsPerPartition: 10 });
    expect(none.partition.column).toBeNull();
    expect(none.partition.why).toMatch(/"d" is empty on line 7/);
  });

  test('a derived key that clashes with a column gets a name of its own', async () => {
    const text = lines('ts,ts_year', 30, (i) => `2024-01-01T00:00:00Z,${i}`);
    const inference = await inferText(text, { minRowsPerPartition: 100 });
    expect(inference.partition.column).toBeNull();
    const yearly = await inferText(text, { minRowsPerPartition: 25 });
    expect(yearly.contract.partition).toEqual({ column: 'ts', granularity: 'day' });
    const text2 = lines('ts,ts_day', 30, (i) => `2024-01-01T00:00:00Z,${i}`);
    const clash = await inferText(text2, { minRowsPerPartition: 25 });
    expect(clash.contract.partition).toEqual({ column: 'ts', granularity: 'day', name: 'ts_day_part' });
  });
});
