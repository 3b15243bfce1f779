/**
 * Each type decision with a small file, and the promise behind them: every value of the file
 * passes the validate step's coercer for the inferred type.
 */
import type { ColumnSpec } from '../../core/contract';
import { coercerFor } from '../../csv/coerce';
import { RowProblem } from '../../csv/row-errors';
import type { InferredColumn } from '../../infer/infer';
import { column, inferText, lines } from './support';

/** The validate step's own coercer for the inferred type (timestamps without a zone read as UTC, as init writes). */
function coercerOf(c: InferredColumn): (text: string) => unknown {
  const spec = { ...c, required: false, drop: false, defaultTimezone: 'UTC' } as unknown as ColumnSpec;
  return coercerFor(spec, { ambiguousLocalTimes: 0 });
}

/** One column `v` with these values (LF lines, no quoting). */
async function typeOf(values: readonly string[]) {
  const quoted = values.map((v) => (/[,"]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v));
  const inference = await inferText(['v', ...quoted].join('\n') + '\n');
  const c = column(inference, 'v');
  const coerce = coercerOf(c);
  for (const v of values) if (v !== '') expect(coerce(v)).not.toBeInstanceOf(RowProblem);
  return c;
}

describe('column types', () => {
  test('whole numbers within int64 are integer', async () => {
    const c = await typeOf(['1', '-42', '+7', '9223372036854775807', '-9223372036854775808']);
    expect(c.type).toBe('integer');
  });

  test('a whole number past int64 makes an exact decimal with scale 0', async () => {
    const c = await typeOf(['1', '9223372036854775808']);
    expect(c).toMatchObject({ type: 'decimal', precision: 38, scale: 0 });
  });

  test('leading zeros stay text, so "007" is not turned into 7', async () => {
    const c = await typeOf(['007', '12', '02134']);
    expect(c.type).toBe('string');
    expect(c.why).toMatch(/line 2: "007" has a leading zero/);
  });

  test('0 and 1 alone are integer; true/false words make a boolean', async () => {
    expect((await typeOf(['0', '1', '1'])).type).toBe('integer');
    expect((await typeOf(['true', 'FALSE', '1', '0', 'True'])).type).toBe('boolean');
    expect((await typeOf(['yes', 'no'])).type).toBe('string');
  });

  test('decimals take their scale from the most fraction digits, precision with room up to 9/18/38', async () => {
    expect(await typeOf(['12.50', '3', '-0.125', '.5'])).toMatchObject({
      type: 'decimal',
      precision: 9,
      scale: 3,
    });
    expect(await typeOf(['1234567890123.5'])).toMatchObject({ type: 'decimal', precision: 18, scale: 1 });
    expect(await typeOf(['12345678901234567890.123'])).toMatchObject({
      type: 'decimal',
      precision: 38,
      scale: 3,
    });
  });

  test('more than 38 digits is text (exact), not a double', async () => {
    const c = await typeOf(['1.' + '1'.repeat(40)]);
    expect(c.type).toBe('string');
  });

  test('numbers with an exponent are double', async () => {
    expect((await typeOf(['1.5e-3', '2', '3.25'])).type).toBe('double');
  });

  test('thousands separators, decimal commas, NaN and currency signs keep a column text', async () => {
    const sep = await typeOf(['1,234', '5']);
    expect(sep.type).toBe('string');
    expect(sep.why).toMatch(/thousands separator/);
    expect((await typeOf(['NaN', '1.5'])).why).toMatch(/"NaN" is not a number/);
    expect((await typeOf(['inf', '2'])).type).toBe('string');
    expect((await typeOf(['$12.50', '$3.00'])).type).toBe('string');
  });

  test('decimal commas in a semicolon file are text, with the reason', async () => {
    const inference = await inferText('name;price\nA;1,5\nB;2,25\n');
    expect(inference.dialect.delimiter).toBe(';');
    const price = column(inference, 'price');
    expect(price.type).toBe('string');
    expect(price.why).toMatch(/decimal comma/);
  });

  test('YYYY-MM-DD dates are date; mixed or other formats are text', async () => {
    expect((await typeOf(['2024-02-29', '1999-12-31'])).type).toBe('date');
    expect((await typeOf(['2024-02-29', '03/01/2024'])).type).toBe('string');
    expect((await typeOf(['2023-02-29'])).why).toMatch(/February 2023 has 28 days/);
    expect((await typeOf(['2024-01-01', '2024-01-01T10:00:00Z'])).type).toBe('string');
  });

  test('timestamps with a zone have none set; without a zone they are read as UTC, and it says so', async () => {
    const zoned = await typeOf(['2024-03-31T14:05:00Z', '2024-03-31 16:05:00+02:00']);
    expect(zoned.type).toBe('timestamp');
    expect(zoned.timezone).toBeUndefined();
    const local = await typeOf(['2024-03-31 14:05', '2024-03-31T14:05:00.123456']);
    expect(local).toMatchObject({ type: 'timestamp', timezone: 'UTC' });
    expect(local.why).toMatch(/read as UTC/);
    expect((await typeOf(['2024-03-31T14:05:00.1234567Z'])).type).toBe('string');
  });

  test('a column that is always empty is nullable text', async () => {
    const inference = await inferText('a,b\n1,\n2,\n');
    expect(column(inference, 'b')).toMatchObject({ type: 'string', required: false });
  });
});

describe('required and nullable', () => {
  test('a column never empty is required; an empty cell makes it nullable and names the line', async () => {
    const inference = await inferText('a,b\n1,x\n2,\n3,y\n');
    expect(column(inference, 'a').required).toBe(true);
    expect(column(inference, 'b')).toMatchObject({ required: false, firstEmptyLine: 3 });
    expect(column(inference, 'b').why).toMatch(/empty on 1 row\(s\) \(first on line 3\)/);
  });

  test('a quoted "" is an empty string for text (still required) but null for a number', async () => {
    const inference = await inferText('t,n\n"",""\nx,5\n');
    expect(column(inference, 't')).toMatchObject({ type: 'string', required: true });
    expect(column(inference, 'n')).toMatchObject({ type: 'integer', required: false });
  });
});

describe('enums', () => {
  const rows = (n: number, values: readonly string[]) =>
    lines('status', n, (i) => values[i % values.length]!);

  test('≤ 12 distinct short values over ≥ 50 rows, each seen twice: an enum', async () => {
    const c = column(await inferText(rows(50, ['open', 'closed', 'on hold'])), 'status');
    expect(c.enum).toEqual(['closed', 'on hold', 'open']);
  });

  test('under 50 rows, 13 distinct values, or a value seen once: no enum', async () => {
    expect(column(await inferText(rows(49, ['open', 'closed'])), 'status').enum).toBeUndefined();
    const thirteen = Array.from({ length: 13 }, (_, i) => `s${i}`);
    expect(column(await inferText(rows(60, thirteen)), 'status').enum).toBeUndefined();
    const once = rows(59, ['open', 'closed']) + 'typo\n';
    expect(column(await inferText(once), 'status').enum).toBeUndefined();
  });

  test('numbers are never enums', async () => {
    expect(column(await inferText(rows(60, ['1', '2'])), 'status').enum).toBeUndefined();
  });
});
