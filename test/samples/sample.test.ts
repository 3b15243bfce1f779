import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { findContract } from '../../core/contract';
import { naiveRowReader } from '../../bench/naive-validate';
import {
  GENERATED_HEADER,
  expectedPipelineCounts,
  parseSize,
  registrationsCsvText,
} from '../../bench/registrations-generator';

const SAMPLES = path.resolve(__dirname, '../../samples');
const sampleText = readFileSync(path.join(SAMPLES, 'registrations.csv'), 'utf8');
const expected = JSON.parse(readFileSync(path.join(SAMPLES, 'registrations.expected.json'), 'utf8')) as {
  generator: { seed: number; rows: number; invalidRows: number; duplicatesByKind: Record<string, number> };
  pipeline: ReturnType<typeof expectedPipelineCounts>;
};
const contract = findContract('registrations')!;

describe('samples/registrations.csv', () => {
  test('regenerating with the documented seed gives the committed bytes and counts', () => {
    // Arrange: the exact options samples/README.md documents.
    const options = { rows: 3000, seed: expected.generator.seed };

    // Act
    const { text, stats } = registrationsCsvText(options);

    // Assert: byte-identical, and the counts match registrations.expected.json.
    expect(text === sampleText).toBe(true);
    expect(JSON.parse(JSON.stringify({ generator: stats, pipeline: expectedPipelineCounts(stats) }))).toEqual(
      expected,
    );
  });

  test('read independently against the contract, the sample has the documented rejects, duplicates and partitions', () => {
    // Arrange
    const records = parse(sampleText, { relax_column_count: true }) as string[][];
    const header = records[0]!;
    // An independent reading of the contract: bench/naive-validate shares no code with functions/validate.
    const readRow = naiveRowReader(contract, header);

    // Act: coerce + validate each row; dedupe valid rows the contract's way (latest registered_at, ties → last line).
    let rejected = 0;
    let formulaCells = 0;
    const winners = new Map<string, { at: string; index: number }>();
    const firstIndex = new Map<string, number>();
    const dates = new Set<string>();
    let valid = 0;
    records.slice(1).forEach((cells, index) => {
      const row = readRow(cells);
      if (!row) {
        rejected++;
        return;
      }
      valid++;
      formulaCells += cells.filter((c) => /^[=+\-@\t\r]/.test(c)).length;
      // The partition folder value at the contract's granularity (month: YYYY-MM).
      const width = { day: 10, month: 7, year: 4 }[contract.partition!.granularity!];
      dates.add((row.event_date as string).slice(0, width));
      const id = row.registration_id as string;
      const at = row.registered_at as string;
      const best = winners.get(id);
      if (!firstIndex.has(id)) firstIndex.set(id, index);
      if (!best || at >= best.at) winners.set(id, { at, index });
    });
    const duplicateIds = [...winners.keys()].filter((id) => winners.get(id)!.index !== firstIndex.get(id));

    // Assert
    expect(header).toEqual([...GENERATED_HEADER]);
    expect(header).not.toEqual(contract.columns.map((c) => c.name)); // exercises the anyOrder policy
    expect(records.length - 1).toBe(expected.pipeline.rowsRead);
    expect(rejected).toBe(expected.pipeline.rowsRejected);
    expect(valid).toBe(expected.pipeline.rowsValid);
    expect(rejected / (records.length - 1)).toBeLessThan(contract.rejectThreshold);
    expect(winners.size).toBe(expected.pipeline.rowsOut);
    expect(valid - winners.size).toBe(expected.pipeline.duplicatesDropped);
    expect(dates.size).toBe(expected.pipeline.partitions);
    expect(formulaCells).toBe(expected.pipeline.formulaCells);
    // The later line wins for "later" duplicates and exact ties; the earlier line for the rest.
    const { laterRowWins, exactTie, earlierRowWins } = expected.generator.duplicatesByKind;
    expect(duplicateIds.length).toBe(laterRowWins! + exactTie!);
    expect(expected.pipeline.duplicatesDropped - duplicateIds.length).toBe(earlierRowWins);
  });

  test('samples/README.md states the current expected counts', () => {
    const readme = readFileSync(path.join(SAMPLES, 'README.md'), 'utf8');
    for (const [name, value] of Object.entries(expected.pipeline)) {
      expect(readme).toContain(`| \`${name}\` | ${value} |`);
    }
  });
});

describe('registrations generator', () => {
  test('a target size stops at the first record past it, and the same seed repeats itself', () => {
    const a = registrationsCsvText({ targetBytes: 200_000, seed: 7 });
    const b = registrationsCsvText({ targetBytes: 200_000, seed: 7 });
    const c = registrationsCsvText({ targetBytes: 200_000, seed: 8 });

    expect(a.stats.bytes).toBe(Buffer.byteLength(a.text));
    expect(a.stats.bytes).toBeGreaterThanOrEqual(200_000);
    expect(a.stats.bytes).toBeLessThan(200_000 + 1_000);
    expect(b.text).toBe(a.text);
    expect(c.text).not.toBe(a.text);
  });

  test('shares of zero give a file with no invalid rows and no duplicates', () => {
    const { stats } = registrationsCsvText({ rows: 500, invalidShare: 0, duplicateShare: 0 });

    expect(stats.invalidRows).toBe(0);
    expect(stats.duplicateRows).toBe(0);
    expect(stats.distinctValidIds).toBe(500);
  });

  test('sizes are binary units and a typo says how to write one', () => {
    expect(parseSize('10MB')).toBe(10 * 1024 * 1024);
    expect(parseSize('1GB')).toBe(1024 ** 3);
    expect(() => parseSize('ten megs')).toThrow(/write it like 10MB/);
  });
});
