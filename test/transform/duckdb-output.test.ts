/**
 * The DuckDB engine's output: which rows survive dedupe, what values and types land in Parquet,
 * and how the objects are laid out. These properties are the reference the Glue job must match.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runTransform } from '../../transform/duckdb';
import {
  LakeReader,
  filesUnder,
  freshLake,
  kitchenSinkPlan,
  lit,
  readManifest,
  registrationsPlan,
  staging,
  transformFixture,
} from './lake-fixture';

let reader: LakeReader;
let lake: ReturnType<typeof freshLake>;
beforeAll(async () => {
  reader = await LakeReader.open();
});
afterAll(() => reader.close());
beforeEach(() => {
  lake = freshLake();
});
afterEach(() => lake.remove());

const SOURCE = 'registrations-2024-0123456789ab';
const KITCHEN = 'kitchen-0123456789ab';

describe('dedupe keeps the row the contract says wins', () => {
  test('registrations: latest registered_at wins; an exact tie goes to the last line', async () => {
    const manifest = await transformFixture(lake.dir, SOURCE, 'dedupe');

    const rows = await reader.rows(
      `SELECT registration_id, attendee_notes, CAST(amount AS VARCHAR) AS amount, event_date
       FROM ${reader.curated(lake.dir, 'registrations')} ORDER BY registration_id`,
    );
    expect(rows).toEqual([
      {
        registration_id: 'REG-00000001',
        attendee_notes: 'latest, wins',
        amount: '30.00',
        event_date: '2024-01-01',
      },
      {
        registration_id: 'REG-00000002',
        attendee_notes: 'exact tie, last line, wins',
        amount: '25.00',
        event_date: '2024-01-02',
      },
      {
        registration_id: 'REG-00000003',
        attendee_notes: 'single',
        amount: '25.00',
        event_date: '2024-01-03',
      },
      {
        registration_id: 'REG-00000004',
        attendee_notes: 'later instant, wins',
        amount: '25.00',
        event_date: '2024-01-03',
      },
    ]);
    expect(manifest).toMatchObject({ rowsIn: 8, rowsOut: 4, duplicatesDropped: 4, engine: 'duckdb' });
    // The losing duplicates are counted, never published: one object per day, nothing else.
    const keys = ['2024-01-01', '2024-01-02', '2024-01-03'].map(
      (d) => `curated/registrations/event_date=${d}/${SOURCE}.snappy.parquet`,
    );
    expect(manifest.objects).toEqual(keys);
    expect(filesUnder(lake.dir)).toEqual([...keys, `manifests/registrations/${SOURCE}.json`]);
  });

  test('duplicates spread over two part files are deduplicated together; other files are ignored', async () => {
    const manifest = await transformFixture(lake.dir, SOURCE, 'two-parts', { threads: 2 });

    const rows = await reader.rows(
      `SELECT registration_id, attendee_notes, event_date FROM ${reader.curated(lake.dir, 'registrations')}
       ORDER BY registration_id`,
    );
    expect(rows).toEqual([
      { registration_id: 'REG-00000021', attendee_notes: 'part 1, newer, wins', event_date: '2024-04-02' },
      { registration_id: 'REG-00000022', attendee_notes: 'part 0, only', event_date: '2024-04-01' },
      { registration_id: 'REG-00000023', attendee_notes: 'part 1, only', event_date: '2024-04-02' },
    ]);
    expect(manifest).toMatchObject({ rowsIn: 4, rowsOut: 3, partitions: ['2024-04-01', '2024-04-02'] });
  });

  test('kitchen sink: typed sort on a dropped column, nulls last both ways, instants, first line on ties', async () => {
    await transformFixture(lake.dir, KITCHEN, 'dedupe', { threads: 1 }, { plan: kitchenSinkPlan() });

    const rows = await reader.rows(
      `SELECT item_id, title FROM ${reader.curated(lake.dir, 'kitchen_sink')} ORDER BY item_id`,
    );
    expect(rows).toEqual([
      { item_id: 'k-asc-nulls-last', title: 'priority 2, wins' },
      { item_id: 'k-desc-nulls-last', title: 'revision 1, wins' },
      { item_id: 'k-exact-tie', title: 'first line, wins' },
      { item_id: 'k-instant', title: 'later instant, wins' },
      // Compared as text, '9' would beat '10'.
      { item_id: 'k-typed-revision', title: 'revision 10, wins' },
    ]);
  });
});

describe('values survive exactly', () => {
  let values: Map<string, Record<string, unknown>>;
  beforeEach(async () => {
    await transformFixture(lake.dir, KITCHEN, 'values', { threads: 1 }, { plan: kitchenSinkPlan() });
    const rows = await reader.rows(
      `SELECT item_id, event_day, title, CAST(amount AS VARCHAR) AS amount, CAST(small AS VARCHAR) AS small,
              CAST(big AS VARCHAR) AS big, CAST(qty AS VARCHAR) AS qty, ratio, active, CAST(born AS VARCHAR) AS born,
              CAST(epoch_us(seen_at) AS VARCHAR) AS seen_us, priority
       FROM ${reader.curated(lake.dir, 'kitchen_sink')}`,
    );
    values = new Map(rows.map((r) => [r.item_id as string, r]));
  });

  test('null stays null and the empty string stays empty', () => {
    expect(values.get('v-nulls')).toMatchObject({
      title: null,
      amount: null,
      qty: null,
      active: null,
      born: null,
      seen_us: null,
    });
    expect(values.get('v-empty')!.title).toBe('');
  });

  test('unicode, quotes, tabs, newlines and formula-like text are stored as written', () => {
    expect(values.get('v-unicode')!.title).toBe(
      'Zoë, "VIP" 🎉 東京 שלום e\u0301 tab\there\nnew line \\ back',
    );
    expect(values.get('v-small')!.title).toBe('=1+2');
  });

  test('decimals at their scale limits are exact', () => {
    expect(values.get('v-max')).toMatchObject({
      amount: '9999999999.99',
      small: '999.9',
      big: '9999999999999999999999999999.9999999999',
    });
    expect(values.get('v-min')).toMatchObject({
      amount: '-9999999999.99',
      small: '-999.9',
      big: '-9999999999999999999999999999.9999999999',
    });
    expect(values.get('v-small')).toMatchObject({ amount: '-0.01', small: '-0.1', big: '0.0000000001' });
    expect(values.get('v-zero')).toMatchObject({ amount: '0.00', small: '0.0', big: '0.0000000000' });
  });

  test('integers at the int64 limits, doubles and booleans', () => {
    expect(values.get('v-max')).toMatchObject({
      qty: '9223372036854775807',
      ratio: 1.7976931348623157e308,
      active: true,
    });
    expect(values.get('v-min')).toMatchObject({ qty: '-9223372036854775808', ratio: -5e-324, active: false });
    expect(values.get('v-small')).toMatchObject({ qty: '0', ratio: 0.1 });
  });

  test('far past and far future dates and timestamps, as partitions and as values', () => {
    expect(values.get('v-max')).toMatchObject({
      event_day: '9999-12-31',
      born: '9999-12-31',
      seen_us: '253402300799999999',
    });
    expect(values.get('v-min')).toMatchObject({
      event_day: '0001-01-01',
      born: '0001-01-01',
      seen_us: '-62135596800000000',
    });
  });

  test('timestamps across DST changes are the instants the UTC text names', () => {
    const micros = (iso: string): string => String(BigInt(Date.parse(iso)) * 1000n);
    // Europe/Berlin springs forward at 01:00Z and falls back at 01:00Z: one hour apart in each pair.
    expect(values.get('dst-spring-before')!.seen_us).toBe(micros('2024-03-31T00:30:00Z'));
    expect(values.get('dst-spring-after')!.seen_us).toBe(micros('2024-03-31T01:30:00Z'));
    expect(values.get('dst-fall-first')!.seen_us).toBe(micros('2024-10-27T00:30:00Z'));
    expect(values.get('dst-fall-second')!.seen_us).toBe(micros('2024-10-27T01:30:00Z'));
  });
});

describe('large values', () => {
  test('a 2 MiB text field survives byte for byte', async () => {
    // Generated rather than committed: a 2 MiB fixture file would only repeat one character.
    const stagingDir = path.join(lake.dir, 'staging-big-field');
    mkdirSync(stagingDir);
    const notes = 'é'.repeat(1024 * 1024) + ' end';
    const line = readFileSync(
      path.join(staging('registrations', 'one-day'), 'part-00000.jsonl'),
      'utf8',
    ).split('\n')[0]!;
    writeFileSync(
      path.join(stagingDir, 'part-00000.jsonl'),
      `${JSON.stringify({ ...JSON.parse(line), attendee_notes: notes })}\n`,
    );
    writeFileSync(path.join(stagingDir, '_SUCCESS'), '');

    await runTransform(
      { plan: registrationsPlan(), sourceId: SOURCE, versionTag: 'v1', stagingDir, lakeDir: lake.dir },
      { threads: 1 },
    );

    const [row] = await reader.rows(
      `SELECT attendee_notes, octet_length(encode(attendee_notes)) AS bytes FROM ${reader.curated(lake.dir, 'registrations')}`,
    );
    expect(Number(row!.bytes)).toBe(Buffer.byteLength(notes));
    expect(row!.attendee_notes).toBe(notes);
  });
});

describe('output layout and Parquet types', () => {
  test('one Snappy object per partition named by the source, partition column only in the folder', async () => {
    const manifest = await transformFixture(
      lake.dir,
      KITCHEN,
      'values',
      { threads: 1 },
      { plan: kitchenSinkPlan() },
    );

    const days = ['0001-01-01', '2024-03-31', '2024-05-01', '2024-10-27', '9999-12-31'];
    const keys = days.map((d) => `curated/kitchen_sink/event_day=${d}/${KITCHEN}.snappy.parquet`);
    expect(filesUnder(lake.dir)).toEqual([...keys, `manifests/kitchen_sink/${KITCHEN}.json`]);
    expect(manifest.partitions).toEqual(days);
    expect(manifest.objects).toEqual(keys);
    expect(readManifest(lake.dir, 'kitchen_sink', KITCHEN)).toEqual(manifest);

    const glob = lit(path.join(lake.dir, 'curated/kitchen_sink/*/*.parquet'));
    const codecs = await reader.rows(`SELECT DISTINCT compression FROM parquet_metadata(${glob})`);
    expect(codecs).toEqual([{ compression: 'SNAPPY' }]);
  });

  test('each plan type has the Parquet type of the output contract, in plan order', async () => {
    await transformFixture(lake.dir, KITCHEN, 'values', { threads: 1 }, { plan: kitchenSinkPlan() });
    const file = lit(
      path.join(lake.dir, `curated/kitchen_sink/event_day=2024-05-01/${KITCHEN}.snappy.parquet`),
    );

    const schema = await reader.rows(
      `SELECT name, type, converted_type, logical_type, CAST(precision AS VARCHAR) AS precision, CAST(scale AS VARCHAR) AS scale
       FROM parquet_schema(${file}) WHERE name <> 'duckdb_schema'`,
    );
    expect(schema.map((c) => c.name)).toEqual(
      kitchenSinkPlan()
        .columns.map((c) => c.name)
        .filter((n) => n !== 'event_day'),
    );
    const byName = new Map(schema.map((c) => [c.name as string, c]));
    expect(byName.get('item_id')).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8' });
    expect(byName.get('amount')).toMatchObject({
      type: 'INT64',
      converted_type: 'DECIMAL',
      precision: '12',
      scale: '2',
    });
    expect(byName.get('small')).toMatchObject({
      type: 'INT32',
      converted_type: 'DECIMAL',
      precision: '4',
      scale: '1',
    });
    expect(byName.get('big')).toMatchObject({
      type: 'FIXED_LEN_BYTE_ARRAY',
      converted_type: 'DECIMAL',
      precision: '38',
      scale: '10',
    });
    expect(byName.get('qty')).toMatchObject({ type: 'INT64', converted_type: 'INT_64' });
    expect(byName.get('ratio')).toMatchObject({ type: 'DOUBLE' });
    expect(byName.get('active')).toMatchObject({ type: 'BOOLEAN' });
    expect(byName.get('born')).toMatchObject({ type: 'INT32', converted_type: 'DATE' });
    expect(byName.get('seen_at')).toMatchObject({ type: 'INT64', converted_type: 'TIMESTAMP_MICROS' });
    expect(byName.get('seen_at')!.logical_type).toMatch(/isAdjustedToUTC=1.*MICROS=MicroSeconds/);
  });

  test('rows spread over 400 days land in 400 partitions, one object each', async () => {
    const manifest = await transformFixture(lake.dir, SOURCE, 'many-days', { threads: 2 });

    const objects = filesUnder(path.join(lake.dir, 'curated'));
    expect(objects).toHaveLength(400);
    expect(objects.every((k) => k.endsWith(`/${SOURCE}.snappy.parquet`))).toBe(true);
    expect(manifest).toMatchObject({ rowsIn: 450, rowsOut: 400, duplicatesDropped: 50 });
    const [newer] = await reader.rows(
      `SELECT count(*) AS n FROM ${reader.curated(lake.dir, 'registrations')} WHERE attendee_notes LIKE '%newer'`,
    );
    expect(Number(newer!.n)).toBe(50);
  });

  test('many days interleaved with few open writers still give one object per day', async () => {
    const manifest = await transformFixture(lake.dir, SOURCE, 'interleaved-days', {
      threads: 2,
      maxOpenFiles: 2,
    });

    expect(filesUnder(path.join(lake.dir, 'curated'))).toHaveLength(12);
    const [count] = await reader.rows(
      `SELECT count(*) AS n FROM ${reader.curated(lake.dir, 'registrations')}`,
    );
    expect(Number(count!.n)).toBe(4500);
    expect(manifest.rowsOut).toBe(4500);
  });

  test('one open writer at a time (bounded write memory) gives the same objects and rows', async () => {
    const request = {
      plan: registrationsPlan(),
      sourceId: SOURCE,
      versionTag: 'v1',
      stagingDir: staging('registrations', 'many-days'),
      lakeDir: lake.dir,
    };
    const whole = await runTransform(request, { threads: 2 });
    const wholeRows = await reader.rows(
      `SELECT * FROM ${reader.curated(lake.dir, 'registrations')} ORDER BY registration_id`,
    );

    const bounded = await runTransform(request, { threads: 2, maxOpenFiles: 1 });

    expect(bounded.objects).toEqual(whole.objects);
    expect(bounded).toMatchObject({ rowsIn: 450, rowsOut: 400 });
    expect(
      await reader.rows(
        `SELECT * FROM ${reader.curated(lake.dir, 'registrations')} ORDER BY registration_id`,
      ),
    ).toEqual(wholeRows);
  });

  test('all rows in one partition make one object', async () => {
    const manifest = await transformFixture(lake.dir, SOURCE, 'one-day', { threads: 2 });

    expect(manifest.objects).toEqual([
      `curated/registrations/event_date=2024-07-14/${SOURCE}.snappy.parquet`,
    ]);
    const [count] = await reader.rows(
      `SELECT count(*) AS n FROM ${reader.curated(lake.dir, 'registrations')}`,
    );
    expect(Number(count!.n)).toBe(5);
  });

  test('a partition over maxRowsPerFile is split into parts of that many rows, filled in key order; a rerun with room for all drops the extra parts', async () => {
    const base = registrationsPlan();
    const split = { ...base, output: { ...base.output, maxRowsPerFile: 2 } };

    const manifest = await transformFixture(lake.dir, SOURCE, 'one-day', { threads: 2 }, { plan: split });

    const folder = `curated/registrations/event_date=2024-07-14`;
    expect(manifest.objects).toEqual([
      `${folder}/${SOURCE}.part-00001.snappy.parquet`,
      `${folder}/${SOURCE}.part-00002.snappy.parquet`,
      `${folder}/${SOURCE}.snappy.parquet`,
    ]);
    expect(manifest.partitions).toEqual(['2024-07-14']);
    const parts = [];
    for (const key of [...manifest.objects].sort((a, b) => a.length - b.length || a.localeCompare(b))) {
      parts.push(
        (
          await reader.rows(
            `SELECT registration_id FROM read_parquet(${lit(path.join(lake.dir, key))}) ORDER BY 1`,
          )
        ).map((r) => r.registration_id),
      );
    }
    // Part 0 holds the two smallest keys, part 1 the next two, part 2 the last one.
    const all = parts.flat();
    expect(all).toEqual([...all].sort());
    expect(parts.map((p) => p.length)).toEqual([2, 2, 1]);

    const again = await transformFixture(lake.dir, SOURCE, 'one-day', { threads: 2 }, { plan: base });
    expect(again.objects).toEqual([`${folder}/${SOURCE}.snappy.parquet`]);
    expect(filesUnder(lake.dir)).toEqual([...again.objects, `manifests/registrations/${SOURCE}.json`]);
  });
});
