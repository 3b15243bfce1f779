/**
 * The ceiling for the validate step: csv-parse alone, in its fastest streamed configuration
 * (records as arrays of strings, no casting, no column mapping, `readable` + `read()` loop, which
 * measured faster than `data` events, async iteration or a Writable sink). No validation, no output.
 */
import { createReadStream, statSync } from 'node:fs';
import { parse } from 'csv-parse';
import { runAsWorker } from './worker';

runAsWorker<{ file: string }>(async ({ file }) => {
  // Short and long rows are part of the input; the ceiling must read them, not stop at them.
  const parser = parse({ relax_column_count: true });
  let rows = 0;
  await new Promise<void>((resolve, reject) => {
    parser.on('readable', () => {
      while (parser.read() !== null) rows++;
    });
    parser.on('end', resolve);
    parser.on('error', reject);
    const input = createReadStream(file, { highWaterMark: 1 << 20 });
    input.on('error', reject);
    input.pipe(parser);
  });
  return { bytes: statSync(file).size, rows: rows - 1 };
});
