/**
 * Cell coercion, type by type: canonical text or a row problem that says what to write. No value
 * is ever rounded, clamped or guessed.
 */
import {
  coerceBoolean,
  coerceDate,
  coerceDouble,
  coerceInteger,
  decimalCoercer,
  timestampCoercer,
  type CoercionNotes,
} from '../../csv/coerce';
import { RowProblem } from '../../csv/row-errors';

function problem(result: string | RowProblem): RowProblem {
  expect(result).toBeInstanceOf(RowProblem);
  return result as RowProblem;
}

describe('integers (int64, exact)', () => {
  test.each([
    ['42', '42'],
    ['-7', '-7'],
    ['+7', '7'],
    ['007', '7'],
    ['-0', '0'],
    ['9007199254740993', '9007199254740993'], // past 2^53: kept exactly, never through a float
    ['9223372036854775807', '9223372036854775807'],
    ['-9223372036854775808', '-9223372036854775808'],
  ])('%s → %s', (text, canonical) => expect(coerceInteger(text)).toBe(canonical));

  test('one past int64 either way is out of range', () => {
    expect(problem(coerceInteger('9223372036854775808')).code).toBe('INTEGER_OUT_OF_RANGE');
    expect(problem(coerceInteger('-9223372036854775809')).code).toBe('INTEGER_OUT_OF_RANGE');
  });

  test('thousands separators say what to write instead', () => {
    const p = problem(coerceInteger('1,234,567'));
    expect(p.code).toBe('THOUSANDS_SEPARATOR');
    expect(p.message).toContain('write "1234567"');
    expect(problem(coerceInteger('1 234')).code).toBe('THOUSANDS_SEPARATOR');
  });

  test('fractions, exponents and words are not integers', () => {
    expect(problem(coerceInteger('12.5')).code).toBe('NOT_AN_INTEGER');
    expect(problem(coerceInteger('1e3')).code).toBe('NOT_AN_INTEGER');
    expect(problem(coerceInteger('twelve')).code).toBe('NOT_AN_INTEGER');
  });
});

describe('decimals (exact, never rounded)', () => {
  const dec = decimalCoercer(5, 2);

  test.each([
    ['12.5', '12.50'],
    ['012.50', '12.50'],
    ['.5', '0.50'],
    ['5.', '5.00'],
    ['-0.00', '0.00'],
    ['999.99', '999.99'],
    ['1.500', '1.50'], // trailing zeros beyond the scale change nothing
    ['7', '7.00'],
    ['12.', '12.00'],
    ['99.9', '99.90'],
    ['0.5', '0.50'],
    ['+12.5', '12.50'],
  ])('%s → %s', (text, canonical) => expect(dec(text)).toBe(canonical));

  test('more fraction digits than the scale is an error, not a rounding', () => {
    const p = problem(dec('1.005'));
    expect(p.code).toBe('DECIMAL_TOO_MANY_FRACTION_DIGITS');
    expect(p.message).toMatch(/keeps 2/);
  });

  test('more digits than the precision is an error', () => {
    expect(problem(dec('1000.00')).code).toBe('DECIMAL_TOO_MANY_DIGITS');
  });

  test('decimal comma and thousands separators say what to write', () => {
    expect(problem(dec('12,50')).message).toContain('write "12.50"');
    expect(problem(dec('1.234,50')).message).toContain('write "1234.50"');
    expect(problem(dec('1,234.50')).code).toBe('THOUSANDS_SEPARATOR');
  });

  test('scale 0 has no point; 38 digits stay exact', () => {
    expect(decimalCoercer(10, 0)('42')).toBe('42');
    expect(decimalCoercer(10, 0)('42.')).toBe('42');
    expect(decimalCoercer(10, 0)('42.000')).toBe('42');
    expect(problem(decimalCoercer(10, 0)('42.5')).code).toBe('DECIMAL_TOO_MANY_FRACTION_DIGITS');
    expect(problem(decimalCoercer(3, 0)('1234')).code).toBe('DECIMAL_TOO_MANY_DIGITS');
    expect(decimalCoercer(38, 0)('12345678901234567890123456789012345678')).toBe(
      '12345678901234567890123456789012345678',
    );
  });
});

describe('doubles', () => {
  test.each([
    ['0.1', '0.1'],
    ['1e300', '1e+300'],
    ['-2.50', '-2.5'],
    ['-0', '0'],
  ])('%s → %s', (text, canonical) => expect(coerceDouble(text)).toBe(canonical));

  test.each(['NaN', 'nan', 'Infinity', '-Infinity', 'inf'])('%s is not a number', (text) => {
    expect(problem(coerceDouble(text)).code).toBe('NOT_A_NUMBER');
  });

  test('1e309 overflows and 1e-400 underflows: both refused', () => {
    expect(problem(coerceDouble('1e309')).code).toBe('NUMBER_OUT_OF_RANGE');
    expect(problem(coerceDouble('1e-400')).code).toBe('NUMBER_OUT_OF_RANGE');
  });
});

describe('booleans', () => {
  test.each([
    ['true', 'true'],
    ['TRUE', 'true'],
    ['1', 'true'],
    ['False', 'false'],
    ['0', 'false'],
  ])('%s → %s', (text, canonical) => expect(coerceBoolean(text)).toBe(canonical));

  test('yes/no are not guessed', () => expect(problem(coerceBoolean('yes')).code).toBe('NOT_A_BOOLEAN'));
});

describe('dates', () => {
  test.each(['2024-02-29', '2000-02-29', '0001-01-01', '9999-12-31'])('%s exists', (text) => {
    expect(coerceDate(text)).toBe(text);
  });

  test.each([
    ['2024-02-30', /February 2024 has 29 days/],
    ['2023-02-29', /February 2023 has 28 days/],
    ['1900-02-29', /February 1900 has 28 days/],
    ['2024-13-01', /months are 01–12/],
    ['0000-01-01', /before year 0001/],
    ['01/03/2024', /YYYY-MM-DD/],
  ])('%s is refused', (text, message) => {
    const p = problem(coerceDate(text));
    expect(p.code).toBe('INVALID_DATE');
    expect(p.message).toMatch(message);
  });
});

describe('timestamps', () => {
  const notes: CoercionNotes = { ambiguousLocalTimes: 0 };
  const utc = timestampCoercer('UTC', notes);
  const berlin = timestampCoercer('Europe/Berlin', notes);
  const newYork = timestampCoercer('America/New_York', notes);

  test.each([
    ['2024-03-31T14:05:00Z', '2024-03-31T14:05:00.000000Z'],
    ['2024-03-31 14:05', '2024-03-31T14:05:00.000000Z'],
    ['2024-03-31 14:05:09Z', '2024-03-31T14:05:09.000000Z'],
    ['2024-03-31T14:05:00.5+02:00', '2024-03-31T12:05:00.500000Z'],
    ['2024-03-31T00:30:00-0130', '2024-03-31T02:00:00.000000Z'],
    ['2024-01-01T00:00:00+01', '2023-12-31T23:00:00.000000Z'],
    ['2024-03-31T14:05:00.123456000Z', '2024-03-31T14:05:00.123456Z'], // nanosecond zeros are fine
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000000Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z'],
  ])('with a zone, or in UTC: %s → %s', (text, canonical) => expect(utc(text)).toBe(canonical));

  test('without a zone, the column default zone applies, DST included', () => {
    expect(berlin('2024-01-15T12:00:00')).toBe('2024-01-15T11:00:00.000000Z'); // CET
    expect(berlin('2024-07-15T12:00:00')).toBe('2024-07-15T10:00:00.000000Z'); // CEST
    expect(newYork('2024-07-04 09:00:00')).toBe('2024-07-04T13:00:00.000000Z');
    expect(berlin('2024-07-15T12:00:00Z')).toBe('2024-07-15T12:00:00.000000Z'); // an explicit zone wins
  });

  test('a local time in the spring-forward gap does not exist', () => {
    const p = problem(berlin('2024-03-31T02:30:00'));
    expect(p.code).toBe('NONEXISTENT_LOCAL_TIME');
    expect(p.message).toMatch(/does not exist in Europe\/Berlin/);
    expect(problem(newYork('2024-03-10 02:15')).code).toBe('NONEXISTENT_LOCAL_TIME');
  });

  test('a repeated local time (fall back) resolves to the earlier instant and is counted', () => {
    const before = notes.ambiguousLocalTimes;
    expect(berlin('2024-10-27T02:30:00')).toBe('2024-10-27T00:30:00.000000Z'); // still CEST (+2)
    expect(notes.ambiguousLocalTimes).toBe(before + 1);
  });

  test.each([
    ['2024-02-30T00:00:00Z', /February 2024 has 29 days/],
    ['2024-03-31T24:00:00Z', /no such time of day/],
    ['2024-03-31T14:05:00.1234567Z', /more precise than microseconds/],
    ['0001-01-01T00:30:00+01:00', /outside years 0001–9999/],
    ['2024-03-31', /not a timestamp/],
    ['31.03.2024 14:05', /ISO 8601/],
  ])('%s is refused', (text, message) => {
    const p = problem(utc(text));
    expect(p.message).toMatch(message);
  });

  test('the fast path for ±HH:MM offsets agrees with the general path (±HHMM) on 20,000 instants', () => {
    let seed = 11;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pad = (v: number, w = 2) => String(v).padStart(w, '0');
    for (let i = 0; i < 20000; i++) {
      const date = `${pad(1 + next(9999), 4)}-${pad(1 + next(12))}-${pad(1 + next(31))}`;
      const time = `${pad(next(25))}:${pad(next(61))}:${pad(next(61))}`;
      const sign = next(2) === 0 ? '+' : '-';
      const [oh, om] = [pad(next(20)), pad(next(61))];
      const fast = utc(`${date}${next(2) === 0 ? 'T' : ' '}${time}${sign}${oh}:${om}`);
      const general = utc(`${date}T${time}${sign}${oh}${om}`);
      const shown = (r: unknown) => (typeof r === 'string' ? r : (r as { code: string }).code);
      expect(`${date} ${time}${sign}${oh}:${om} → ${shown(fast)}`).toBe(
        `${date} ${time}${sign}${oh}:${om} → ${shown(general)}`,
      );
    }
  });
});
