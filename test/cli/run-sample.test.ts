/**
 * The first thing a user does: `etl run samples/registrations.csv`. One run of the real sample
 * through the real state machine and handlers; the Parquet it writes is checked row by row
 * against the staging rows (the valid input rows) and the contract's dedupe rule.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { findContract } from '../../core/contract';
import { queryLake } from '../../local/lake-query';
import { stagedRowsIn } from '../support/staging-rows';
import { REPO, Sandbox } from './harness';

interface RunJson {
  runId: string;
  status: string;
  dataset: string;
  rowsRead: number;
  rowsValid: number;
  rowsRejected: number;
  rowsWritten: number;
  duplicatesDropped: number;
  partitions: number;
  outputs: { curated: string; rejects: string; report: string; archive: string; record: string };
  states: { name: string; status: string; durationMs: number }[];
}

type StagingRow = Record<string, string | null> & { _line: number };

/** The staged rows with canonical values, whatever staging was written (test/support/staging-rows.ts). */
function stagingRows(lakeDir: string): StagingRow[] {
  const rows: StagingRow[] = [];
  const contract = findContract('registrations')!;
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true });
    if (entries.some((e) => e.name === 'plan.json'))
      rows.push(...(stagedRowsIn(dir, contract) as StagingRow[]));
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
  };
  walk(path.join(lakeDir, 'staging'));
  return rows;
}

/** "2024-09-09T20:39:03.123456Z" → microseconds since the epoch, exactly. */
function epochMicros(canonical: string): bigint {
  return BigInt(Date.parse(`${canonical.slice(0, 19)}Z`)) * 1000n + BigInt(canonical.slice(20, 26));
}

describe('etl run samples/registrations.csv', () => {
  const box = new Sandbox();
  let run: RunJson;
  let code: number;
  let stderr: string;
  const sample = path.join(REPO, 'samples/registrations.csv');
  const expected = JSON.parse(
    readFileSync(path.join(REPO, 'samples/registrations.expected.json'), 'utf8'),
  ) as {
    pipeline: {
      rowsRead: number;
      rowsValid: number;
      rowsRejected: number;
      rowsOut: number;
      duplicatesDropped: number;
      partitions: number;
    };
  };

  beforeAll(async () => {
    const r = await box.etlJson<RunJson>(['run', sample]);
    run = r.json;
    code = r.code;
    stderr = r.err;
  });
  afterAll(() => box.remove());

  test('succeeds with exit 0, one JSON object, every state listed with its duration', () => {
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(run).toMatchObject({ status: 'SUCCEEDED', dataset: 'registrations' });
    // The main path in order (the ASL may add states between them without breaking this).
    const names = run.states.map((s) => s.name);
    const mainPath = [
      'Claim',
      'Validate',
      'TransformInLambda', // the sample's staging is far under the routing threshold (TransformEngine)
      'StartCrawl',
      'PollCrawl',
      'Verify',
      'Archive',
      'Notify',
      'Succeeded',
    ];
    expect(mainPath.map((n) => names.indexOf(n))).toEqual(
      [...mainPath.map((n) => names.indexOf(n))].sort((a, b) => a - b),
    );
    expect(mainPath.every((n) => names.includes(n))).toBe(true);
    for (const s of run.states) {
      expect(s.status).toBe('SUCCEEDED');
      expect(s.durationMs).toBeGreaterThanOrEqual(0);
    }
  });

  test('counts add up and match what the sample was generated with', () => {
    expect(run.rowsRead).toBe(run.rowsValid + run.rowsRejected);
    expect(run.rowsWritten).toBe(run.rowsValid - run.duplicatesDropped);
    expect(run).toMatchObject({
      rowsRead: expected.pipeline.rowsRead,
      rowsValid: expected.pipeline.rowsValid,
      rowsRejected: expected.pipeline.rowsRejected,
      rowsWritten: expected.pipeline.rowsOut,
      duplicatesDropped: expected.pipeline.duplicatesDropped,
      partitions: expected.pipeline.partitions,
    });
    const csvRecords = parse(readFileSync(sample), { relax_column_count: true, from_line: 2 }) as string[][];
    expect(csvRecords).toHaveLength(run.rowsRead);
  });

  test('every output row is a valid input row, one per registration_id, the latest registered_at wins', async () => {
    const lakeDir = path.join(box.home, 'lake');
    const staging = stagingRows(lakeDir);
    expect(staging).toHaveLength(run.rowsValid);
    // The staging rows are the valid rows of the CSV: same ids and values as the source records.
    const csv = parse(readFileSync(sample), { columns: true, relax_column_count: true }) as Record<
      string,
      string
    >[];
    const source = new Set(
      csv.map((r) => [r.registration_id, r.event_id, r.attendee_email, r.ticket_type, r.currency].join('|')),
    );
    for (const s of staging)
      expect(
        source.has([s.registration_id, s.event_id, s.attendee_email, s.ticket_type, s.currency].join('|')),
      ).toBe(true);

    const { rows } = await queryLake(
      lakeDir,
      `SELECT registration_id, event_id, CAST(event_date AS VARCHAR) AS event_date, attendee_email, ticket_type,
              CAST(amount AS VARCHAR) AS amount, currency, CAST(quantity AS VARCHAR) AS quantity,
              CAST(epoch_us(registered_at) AS VARCHAR) AS registered_us, attendee_notes
       FROM registrations`,
    );
    expect(rows).toHaveLength(run.rowsWritten);
    expect(new Set(rows.map((r) => r.registration_id)).size).toBe(rows.length);

    // The winner per id: latest registered_at, then the later line (the contract's tieBreaker).
    const winner = new Map<string, StagingRow>();
    for (const s of staging) {
      const best = winner.get(s.registration_id!);
      const later =
        !best ||
        epochMicros(s.registered_at!) > epochMicros(best.registered_at!) ||
        (epochMicros(s.registered_at!) === epochMicros(best.registered_at!) && s._line > best._line);
      if (later) winner.set(s.registration_id!, s);
    }
    expect(winner.size).toBe(rows.length);
    for (const out of rows) {
      const w = winner.get(out.registration_id as string)!;
      expect(out).toEqual({
        registration_id: w.registration_id,
        event_id: w.event_id,
        event_date: w.event_date,
        attendee_email: w.attendee_email,
        ticket_type: w.ticket_type,
        amount: w.amount,
        currency: w.currency,
        quantity: w.quantity,
        registered_us: String(epochMicros(w.registered_at!)),
        attendee_notes: w.attendee_notes, // staging is keyed by output name (the CSV header "notes")
      });
    }
  });

  test('the original is archived byte for byte and the rejects report names the bad lines', () => {
    expect(readFileSync(run.outputs.archive)).toEqual(readFileSync(sample));
    const rejects = readFileSync(run.outputs.rejects, 'utf8').trim().split('\n');
    expect(rejects).toHaveLength(run.rowsRejected);
    expect(JSON.parse(rejects[0]!)).toHaveProperty('line');
  });

  test('etl query sees the table under its catalog name with the written row count', async () => {
    const r = await box.etlJson<{ rows: { n: string | number }[] }>([
      'query',
      'SELECT count(*) AS n FROM registrations',
    ]);
    expect(r.code).toBe(0);
    expect(Number(r.json.rows[0]!.n)).toBe(run.rowsWritten);
    // The sample's contract partitions event_date by month: the key is a column of its own.
    const text = await box.etl([
      'query',
      'SELECT count(DISTINCT event_date_month) AS months FROM registrations',
    ]);
    expect(text.out).toMatch(/months/);
    expect(text.out).toContain(String(run.partitions));
  });

  test('etl runs lists it and etl runs show draws its state path', async () => {
    const list = await box.etl(['runs']);
    expect(list.out).toContain(run.runId);
    expect(list.out).toMatch(/SUCCEEDED/);
    const show = await box.etl(['runs', 'show', run.runId]);
    expect(show.code).toBe(0);
    const lines = show.out.split('\n');
    for (const state of ['Claim', 'Validate', 'Transform', 'Verify', 'Archive', 'Notify'])
      expect(lines.some((l) => l.includes('✓') && l.includes(state))).toBe(true);

    // --json after `show` reaches show (the parent `runs` declares --json as well).
    const json = await box.etl(['runs', 'show', run.runId, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ id: run.runId, status: 'SUCCEEDED' });
  });
});
