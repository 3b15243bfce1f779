/**
 * Writes a registrations CSV (schemas/registrations.schema.json) with the seeded generator in
 * bench/registrations-generator.ts, and prints as JSON on stdout what it wrote (`generator`) and
 * what the pipeline should report for it (`pipeline`).
 *
 * @example
 *   tsx scripts/generate-registrations.ts --rows 3000 --seed 20240229 --out samples/registrations.csv
 *   tsx scripts/generate-registrations.ts --size 1GB --out .bench/registrations-1GB.csv
 */
import { Command, InvalidArgumentError } from 'commander';
import { expectedPipelineCounts, parseSize, writeRegistrationsCsv } from '../bench/registrations-generator';

function share(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('a share is a number in [0, 1), e.g. 0.025');
  return n;
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('write a whole number, e.g. 3000');
  return Number(value);
}

function size(value: string): number {
  try {
    return parseSize(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

const program = new Command()
  .name('generate-registrations')
  .description('Write a deterministic community-event registrations CSV (streamed; any size).')
  .requiredOption('-o, --out <file>', 'CSV file to write')
  .option('-r, --rows <n>', 'number of data rows', wholeNumber)
  .option('-s, --size <size>', 'target file size instead of rows: 10MB, 100MB, 1GB (binary units)', size)
  .option('--seed <n>', 'PRNG seed', wholeNumber, 1)
  .option('--invalid-share <x>', 'share of rows with one defect', share, 0.025)
  .option('--duplicate-share <x>', 'share of rows repeating an earlier registration id', share, 0.03)
  .option('--years <n>', 'event dates over this many years ending with 2024', wholeNumber, 1)
  .action(
    async (opts: {
      out: string;
      rows?: number;
      size?: number;
      seed: number;
      invalidShare: number;
      duplicateShare: number;
      years: number;
    }) => {
      if ((opts.rows === undefined) === (opts.size === undefined)) {
        program.error('give exactly one of --rows or --size');
      }
      const stats = await writeRegistrationsCsv(opts.out, {
        ...(opts.rows !== undefined ? { rows: opts.rows } : { targetBytes: opts.size! }),
        seed: opts.seed,
        invalidShare: opts.invalidShare,
        duplicateShare: opts.duplicateShare,
        years: opts.years,
      });
      process.stdout.write(
        JSON.stringify({ generator: stats, pipeline: expectedPipelineCounts(stats) }, null, 2) + '\n',
      );
    },
  );

program.parseAsync().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
