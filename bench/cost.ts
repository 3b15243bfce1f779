/**
 * Modeled AWS cost and upload→queryable latency of a 10 MB file (issue 12), the Lambda path and
 * the Glue path side by side. Each path gets a fresh `--home` and two `bin/etl run`s of the same
 * generated file under two names: the first finds no table (RegisterPartitions says the schema
 * changed, the crawler runs), the second is an ordinary file (partitions registered, no crawl).
 * The Glue path is forced with ETL_TRANSFORM_LAMBDA_MAX_BYTES=0. The figures are the run records'
 * `cost` (core/cost.ts via local/run-cost.ts): measured local durations, priced and completed with
 * the model's named assumptions.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ASSUMPTIONS, formatUsd, PRICES_READ_ON, type RunCostModel } from '../core/cost';
import { BENCH_DIR, REPO_ROOT, type BenchInput } from './inputs';
import { renderTable, verdict } from './report';

/** The issue's targets for an ordinary 10 MB file on the Lambda path. */
export const COST_TARGETS = { maxUsd: 0.001, maxQueryableSeconds: 60 } as const;

interface CostRun {
  readonly label: string;
  readonly status: string;
  readonly cost?: RunCostModel;
  readonly error?: string;
}

/** The run records in `home`; none yet: empty. */
function runRecords(runsDir: string): string[] {
  try {
    return readdirSync(runsDir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
}

async function etlRun(home: string, file: string, env: NodeJS.ProcessEnv): Promise<CostRun> {
  const runsDir = path.join(home, 'runs');
  // This run's record is the one that was not there before: the names sort by start second, then
  // by a random suffix, so two runs in the same second (under a second each on a fast host) do not
  // sort by start — taking the last name once reported the first file's crawl for the second.
  const before = new Set(runRecords(runsDir));
  const child = spawn(
    path.join(REPO_ROOT, 'bin', 'etl'),
    ['--home', home, 'run', file, '--dataset', 'registrations', '--json'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  await new Promise((resolve) => child.on('close', resolve));
  const added = runRecords(runsDir).filter((n) => !before.has(n));
  const newest = added.length === 1 ? added[0] : undefined;
  if (added.length > 1)
    return { label: path.basename(file), status: `${added.length} run records from one run` };
  if (!newest)
    return { label: path.basename(file), status: 'no run', error: stderr.trim().split('\n').pop() };
  const record = JSON.parse(readFileSync(path.join(runsDir, newest), 'utf8')) as {
    displayStatus: string;
    cost?: RunCostModel;
  };
  return {
    label: path.basename(file),
    status: record.displayStatus,
    ...(record.cost && { cost: record.cost }),
  };
}

/** Two runs (first file of the table, then an ordinary one) in a fresh home. */
async function runPath(name: string, input: BenchInput, env: NodeJS.ProcessEnv): Promise<[CostRun, CostRun]> {
  const home = path.join(BENCH_DIR, `cost-home-${name}`);
  rmSync(home, { recursive: true, force: true });
  const second = path.join(BENCH_DIR, `registrations-cost-second-${input.label}.csv`);
  copyFileSync(input.file, second);
  const first = await etlRun(home, input.file, env);
  const ordinary = await etlRun(home, second, env);
  return [first, ordinary];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function benchCost(input: BenchInput): Promise<string[]> {
  const out = [`## Cost and latency per file, modeled (issue 12): ${input.label}`, ''];
  const lambda = await runPath('lambda', input, {});
  console.log('  cost: Lambda path done');
  const glue = await runPath('glue', input, { ETL_TRANSFORM_LAMBDA_MAX_BYTES: '0' });
  console.log('  cost: Glue path done');
  const rows = [
    ['Lambda', 'first file (no table: crawl)', lambda[0]],
    ['Lambda', 'ordinary file', lambda[1]],
    ['Glue', 'first file (no table: crawl)', glue[0]],
    ['Glue', 'ordinary file', glue[1]],
  ] as const;
  out.push(
    `\`bin/etl run\` of \`${path.relative(REPO_ROOT, input.file)}\` (bench/registrations-generator.ts) twice per path, each path in a fresh \`--home\`;`,
    `the Glue path forced with \`ETL_TRANSFORM_LAMBDA_MAX_BYTES=0\`. Prices: us-east-1 list prices read ${PRICES_READ_ON} (core/cost.ts PRICES).`,
    'Measured: local handler and engine times, transitions, queries, objects written. Modeled (core/cost.ts ASSUMPTIONS):',
    `S3→EventBridge ${ASSUMPTIONS.s3ToEventBridgeMs.value} ms, EventBridge→start ${ASSUMPTIONS.eventBridgeToExecutionMs.value} ms, ${ASSUMPTIONS.transitionOverheadMs.value} ms per transition,`,
    `Lambda INIT ${ASSUMPTIONS.lambdaColdStartMs.value} ms (Transform Lambda ${ASSUMPTIONS.transformLambdaColdStartMs.value} ms), Glue start-up ${seconds(ASSUMPTIONS.glueJobStartupMs.value)} on ${ASSUMPTIONS.glueDpusPerSmallRun.value} DPU,`,
    `crawler ${seconds(ASSUMPTIONS.crawlerRunMs.value)} on ${ASSUMPTIONS.crawlerDpus.value} DPU, Athena ${ASSUMPTIONS.athenaQueryMs.value} ms per query.`,
    '',
    renderTable(
      ['path', 'file', 'status', 'engine (recorded)', 'crawler', 'modeled cost', 'modeled upload→queryable'],
      rows.map(([p, what, r]) => [
        p,
        what,
        r.status,
        r.cost?.transformEngine ?? '—',
        r.cost ? (r.cost.crawlerRan ? 'ran' : 'skipped') : '—',
        r.cost ? formatUsd(r.cost.totalUsd) : (r.error ?? 'no cost in the record'),
        r.cost ? seconds(r.cost.latency.totalMs) : '—',
      ]),
    ),
    '',
  );
  const ordinary = lambda[1].cost;
  for (const [title, r] of [
    ['Lambda path, ordinary file', lambda[1]],
    ['Glue path, ordinary file', glue[1]],
  ] as const) {
    if (!r.cost) continue;
    out.push(
      `${title} — line items:`,
      '',
      renderTable(
        ['item', 'quantity', 'USD', 'basis'],
        [
          ...r.cost.lines.map((l) => [l.item, l.quantity, formatUsd(l.usd), l.basis]),
          ['total', '', formatUsd(r.cost.totalUsd), ''],
        ],
      ),
      '',
      renderTable(
        ['upload → queryable', 'time', 'basis'],
        r.cost.latency.parts.map((p) => [p.part, seconds(p.ms), p.basis]),
      ),
      '',
    );
  }
  const lambdaRan = ordinary?.transformEngine === 'lambda';
  out.push(
    ordinary && lambdaRan
      ? `- Lambda path, ordinary ${input.label} file: modeled cost ${formatUsd(ordinary.totalUsd)} — target ≤ ${formatUsd(COST_TARGETS.maxUsd)}: ${verdict(ordinary.totalUsd <= COST_TARGETS.maxUsd)}`
      : `- Lambda path: FAIL (the ordinary file's run ${ordinary ? `ran transform engine "${ordinary.transformEngine}"` : 'has no cost'}, not TransformInLambda)`,
    ...(ordinary && lambdaRan
      ? [
          `- Lambda path, ordinary ${input.label} file: modeled upload→queryable ${seconds(ordinary.latency.totalMs)} — target ≤ ${COST_TARGETS.maxQueryableSeconds} s: ${verdict(ordinary.latency.totalMs <= COST_TARGETS.maxQueryableSeconds * 1000)}`,
        ]
      : []),
    ...(glue[1].cost
      ? [
          `- beside it, the Glue path: ${formatUsd(glue[1].cost.totalUsd)} and ${seconds(glue[1].cost.latency.totalMs)} for an ordinary file; ${glue[0].cost ? `${formatUsd(glue[0].cost.totalUsd)} and ${seconds(glue[0].cost.latency.totalMs)}` : '—'} when the crawler runs`,
        ]
      : []),
    '',
  );
  return out;
}
