/** Encoding, delimiter, quote, header and relaxQuotes decisions, and files that are not CSV text. */
import { gzipSync } from 'node:zlib';
import { inferContract, InferError } from '../../infer/infer';
import { csvFile, inferText, lines } from './support';

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

  test('a blank header cell is found by its empty source; two blank ones cannot both be, and the warning says so', async () => {
    const one = await inferText('a,b,\n1,2,\n3,4,\n');
    expect(one.columns.map((c) => c.source)).toEqual(['a', 'b', '']);
    expect(one.warnings).toEqual([
      expect.stringMatching(/header column 3 has no name: named "column_3" here, found by its source ""/),
    ]);
    const two = await inferText('a,,b,\n1,,2,\n3,x,4,\n');
    expect(two.warnings).toEqual([
      expect.stringMatching(/header column 2 has no name/),
      expect.stringMatching(
        /header "" appears twice \(columns 2 and 4\); etl run refuses a contract whose columns read the same header/,
      ),
    ]);
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
    await expect(inferText(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]))).rejects.toThrow(
      /gzip-compressed file.*Fix: name it with \.gz at the end/,
    );
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

describe('a .csv.gz', () => {
  const text = lines(
    'id;amount;day',
    120,
    (i) => `${i + 1};${i}.5;2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
  );

  test('is decompressed as it streams: the same dialect and columns as the plain file, and it says so', async () => {
    const plain = await inferText(text);
    const gz = await inferContract(csvFile(gzipSync(text), 'data.csv.gz'));
    expect(gz.contract).toEqual({
      ...plain.contract,
      description: expect.stringContaining('data.csv.gz') as string,
    });
    expect(gz.dialect.delimiter).toBe(';');
    expect(gz.dialect.why).toContain(
      'compression gzip (the name ends in .gz): decompressed as it streams, as etl run does',
    );
    expect(gz.key.columns).toEqual(['id']);
  });

  test('past the limit, the warning speaks of the text read, not of the compressed size', async () => {
    const gz = await inferContract(csvFile(gzipSync(text), 'data.csv.gz'), { maxBytes: 600 });
    expect(gz.sampled).toBe(true);
    expect(gz.warnings.join('\n')).toMatch(
      /the file's text is over .* \(gzip, .* compressed\): only its first .* of text \(\d+ rows\) were read/,
    );
  });

  test('that is not gzip, or is cut short, is refused with the fix', async () => {
    await expect(inferContract(csvFile(text, 'plain.csv.gz'))).rejects.toThrow(
      /named \.gz but is not gzip data \(it looks like uncompressed text\).*Fix: /,
    );
    const cut = gzipSync(text).subarray(0, 60);
    await expect(inferContract(csvFile(cut, 'cut.csv.gz'))).rejects.toThrow(/gzip data is cut short.*Fix: /);
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
