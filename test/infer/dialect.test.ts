/** Encoding, delimiter, quote, header and relaxQuotes decisions, and files that are not CSV text. */
import { InferError } from '../../infer/infer';
import { inferText, lines } from './support';

describe('dialect', () => {
  test.each([
    [',', 'a,b,c\n1,2,3\n4,5,6\n'],
    [';', 'a;b;c\n1,5;2;x\n4;5,25;y\n'],
    ['\t', 'a\tb\tc\n1,2\t2;3\tx\n'],
    ['|', 'a|b|c\n1|2|3\n'],
  ])('delimiter %j is chosen when its records agree with the header', async (delimiter, text) => {
    const inference = await inferText(text);
    expect(inference.dialect.delimiter).toBe(delimiter);
    expect(inference.contract.csv.delimiter).toBe(delimiter);
    expect(inference.columns.map((c) => c.name)).toEqual(['a', 'b', 'c']);
  });

  test('a one-column file gets "," and says why', async () => {
    const inference = await inferText('name\nx\ny\n');
    expect(inference.dialect.delimiter).toBe(',');
    expect(inference.dialect.why.join('\n')).toMatch(/one column/);
  });

  test('a UTF-8 byte-order mark is noted and not part of the first header name', async () => {
    const inference = await inferText(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Café,b\n1,2\n')]),
    );
    expect(inference.dialect.bom).toBe(true);
    expect(inference.columns[0]).toMatchObject({ name: 'cafe', source: 'Café' });
  });

  test('CRLF line ends and quoted newlines are read as records', async () => {
    const inference = await inferText('id,note\r\n1,"two\r\nlines"\r\n2,plain\r\n');
    expect(inference.rows).toBe(2);
    expect(inference.columns.map((c) => c.type)).toEqual(['integer', 'string']);
  });

  test('the header is assumed, and a first line that looks like data is flagged', async () => {
    const named = await inferText('a,b\n1,2\n');
    expect(named.dialect.why.join('\n')).toMatch(/line 1 is taken as the header/);
    expect(named.warnings).toEqual([]);
    const headless = await inferText('1,2024-01-01\n2,2024-01-02\n');
    expect(headless.warnings.join('\n')).toMatch(/looks like data/);
  });

  test('relaxQuotes is off for a well-quoted file', async () => {
    const inference = await inferText('a,b\n"x ""y""",1\n');
    expect(inference.dialect.relaxQuotes).toBe(false);
    expect(inference.contract.csv.relaxQuotes).toBe(false);
  });

  test('relaxQuotes is on only when a quote sits inside an unquoted field, naming the line', async () => {
    const inference = await inferText('place,lat\nSF,37.8"N\nLA,34.0"N\n');
    expect(inference.dialect.relaxQuotes).toBe(true);
    expect(inference.contract.csv.relaxQuotes).toBe(true);
    expect(inference.dialect.why.join('\n')).toMatch(/line 2 has a quote inside an unquoted field/);
    expect(inference.columns[1]).toMatchObject({ type: 'string', required: true });
  });

  test('rows of another width are left out and reported', async () => {
    const inference = await inferText('a,b\n1,2\n3\n4,5\n');
    expect(inference.warnings.join('\n')).toMatch(
      /1 row\(s\) do not have the header's 2 fields \(first: line 3 has 1\)/,
    );
    expect(inference.columns[0]!.type).toBe('integer');
  });
});

describe('files that are not UTF-8 CSV text', () => {
  test('invalid UTF-8 names the byte offset, the line, and what to do', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\nx,1\ncaf'), Buffer.from([0xe9]), Buffer.from(',2\n')]);
    const err = await inferText(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferError);
    expect((err as InferError).problem).toMatch(
      /not valid UTF-8: bytes 0xE9.* at byte offset 11 .*\(line 3\)/,
    );
    expect((err as InferError).problem).toMatch(/Latin-1/);
    expect((err as InferError).fix).toMatch(/save the file as UTF-8/);
  });

  test('UTF-16 and gzip are refused with the fix', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n', 'utf16le')]);
    await expect(inferText(utf16)).rejects.toThrow(/UTF-16.*Fix: save the file as UTF-8/);
    await expect(inferText(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]))).rejects.toThrow(/gzip-compressed file.*Fix: name it with \.gz at the end/);
  });

  test('an empty file has no header', async () => {
    await expect(inferText('\n\n')).rejects.toThrow(/no header line/);
  });

  test('an unclosed quote is malformed CSV with its line', async () => {
    await expect(inferText('a,b\n1,"open\n2,3\n')).rejects.toThrow(
      /not well-formed CSV.*Fix: close the quoted field that starts on line 2/s,
    );
  });
});

describe('a file larger than the whole-file limit', () => {
  test('is judged on its first part, says so, and proposes neither key nor enum', async () => {
    const text = lines('id,status', 400, (i) => `${i + 1},${i % 2 ? 'open' : 'closed'}`);
    const inference = await inferText(text, { maxBytes: 1000 });
    expect(inference.sampled).toBe(true);
    expect(inference.bytesRead).toBe(1000);
    expect(inference.rows).toBeLessThan(400);
    expect(inference.key.columns).toEqual([]);
    expect(inference.key.why).toMatch(/"id" is unique in the part of the file read/);
    expect(inference.columns[1]!.enum).toBeUndefined();
    expect(inference.warnings.join('\n')).toMatch(/only its first .* were read/);
    const whole = await inferText(text);
    expect(whole.sampled).toBe(false);
    expect(whole.key.columns).toEqual(['id']);
    expect(whole.columns[1]!.enum).toEqual(['closed', 'open']);
  });
});
