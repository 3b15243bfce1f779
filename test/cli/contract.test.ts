/**
 * Contracts on the command line (issue 11): `etl contract check` validates them without a run, the
 * contracts folder comes from --schemas / ETL_SCHEMAS / ./schemas, and a missing or broken contract
 * is a usage error (exit 64) that starts nothing and records nothing — never a FAILED run.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../cli/main';
import { listDatasets } from '../../core/contract';
import { RunStore } from '../../local/run-record';
import { FIXTURES, REPO, Sandbox, type EtlResult } from './harness';

const SMALL = path.join(FIXTURES, 'registrations/small.csv');
const BROKEN = JSON.stringify({
  version: 2,
  columns: [
    { name: 'id', type: 'integer', required: true },
    { name: 'amount', type: 'decimal', precision: 5, scale: 7 },
  ],
});

/** `etl <args>` in-process with the repository root as working directory. */
async function etlInRepo(args: readonly string[]): Promise<EtlResult> {
  let out = '';
  let err = '';
  const env = { ...process.env };
  delete env.ETL_SCHEMAS;
  const code = await main(args, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    cwd: REPO,
    env,
    isTTY: false,
  });
  return { code, out, err };
}

describe('etl contract check', () => {
  test('every shipped contract in schemas/ is valid (what npm test checks)', async () => {
    const r = await etlInRepo(['contract', 'check']);

    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    const shipped = listDatasets(path.join(REPO, 'schemas'));
    expect(shipped.length).toBeGreaterThan(0);
    for (const d of shipped)
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ok\\s+${d}\\s+v[12], `)));
    expect(lines.at(-1)).toBe(`${shipped.length} contract(s) valid in schemas (./schemas)`);
  });

  describe('in a folder of the user', () => {
    let box: Sandbox;
    beforeEach(() => {
      box = new Sandbox();
      mkdirSync(path.join(box.dir, 'contracts'));
      copyFileSync(
        path.join(REPO, 'schemas/registrations.schema.json'),
        path.join(box.dir, 'contracts/registrations.schema.json'),
      );
      writeFileSync(path.join(box.dir, 'contracts/things.schema.json'), BROKEN);
    });
    afterEach(() => box.remove());

    test('one line per contract; a broken one names the file, pointer, column and fix; exit 64', async () => {
      const r = await box.etl(['contract', 'check', '--schemas', 'contracts']);

      expect(r.code).toBe(64);
      expect(r.out).toMatch(/^ok {4}registrations {2}v2, table registrations, 10 columns/m);
      expect(r.out).toContain(
        'FAIL  things         contracts/things.schema.json#/columns/1/scale (column "amount"): scale 7 exceeds precision 5. Fix: make scale ≤ precision',
      );
      expect(r.out).toMatch(/1 of 2 contract\(s\) invalid in contracts \(--schemas\)/);
    });

    test('one contract by dataset name (ETL_SCHEMAS) or by file', async () => {
      const env = { ...process.env, ETL_HOME: box.home, ETL_SCHEMAS: 'contracts' };
      let out = '';
      const byName = await main(['contract', 'check', 'registrations'], {
        out: (t) => (out += t),
        err: () => undefined,
        cwd: box.dir,
        env,
        isTTY: false,
      });
      const byFile = await box.etl(['contract', 'check', 'contracts/things.schema.json']);

      expect(byName).toBe(0);
      expect(out).toMatch(/^ok {4}registrations {2}v2/m);
      expect(byFile.code).toBe(64);
      expect(byFile.out).toContain('FAIL  things  contracts/things.schema.json#/columns/1/scale');
    });

    test('a name without a contract, or one the rule refuses, says why', async () => {
      const missing = await box.etl(['contract', 'check', 'seattle-weather', '--schemas', 'contracts']);
      const refused = await box.etl(['contract', 'check', 'Seattle_Weather', '--schemas', 'contracts']);

      expect(missing.code).toBe(64);
      expect(missing.out).toContain(
        'no seattle-weather.schema.json in contracts (--schemas) (datasets there: registrations, things)',
      );
      expect(refused.code).toBe(64);
      expect(refused.out).toMatch(
        /"Seattle_Weather" is not allowed: .*upper-case letters.*Fix: use --dataset seattle_weather/,
      );
    });

    test('etl run with a broken contract: exit 64 naming the file, pointer and fix; nothing landed, no run record', async () => {
      const csv = path.join(box.dir, 'things.csv');
      copyFileSync(SMALL, csv);

      const r = await box.etl(['run', csv, '--dataset', 'things', '--schemas', 'contracts']);

      expect(r.code).toBe(64);
      expect(r.err).toBe(
        'etl: the contract of dataset "things" is broken, so nothing was run: contracts/things.schema.json#/columns/1/scale (column "amount"): scale 7 exceeds precision 5. Fix: make scale ≤ precision. Check it with `etl contract check things --schemas contracts`\n',
      );
      expect(r.err).not.toMatch(/redrive/);
      expect(existsSync(path.join(box.home, 'landing'))).toBe(false);
      expect(existsSync(path.join(box.home, 'runs')) ? readdirSync(path.join(box.home, 'runs')) : []).toEqual(
        [],
      );
    });

    test('etl run --dataset seattle-weather without its contract: the known datasets and etl init as the fix', async () => {
      const r = await box.etl(['run', SMALL, '--dataset', 'seattle-weather', '--schemas', 'contracts']);

      expect(r.code).toBe(64);
      expect(r.err).toContain(
        'no contract for dataset "seattle-weather": contracts/seattle-weather.schema.json does not exist',
      );
      expect(r.err).toContain('datasets with a contract there: registrations, things');
      expect(r.err).toContain('etl init');
      expect(r.err).toContain('--dataset seattle-weather --schemas contracts');
      expect(existsSync(path.join(box.home, 'runs'))).toBe(false);
    });

    test('etl run --dataset with a name the rule refuses says why, never a bare "no contract"', async () => {
      const r = await box.etl(['run', SMALL, '--dataset', 'Seattle Weather', '--schemas', 'contracts']);

      expect(r.code).toBe(64);
      expect(r.err).toMatch(
        /^etl: dataset name "Seattle Weather" is not allowed: .*it has spaces.*Fix: use --dataset seattle_weather/,
      );
    });

    test('a hyphenated dataset runs end to end, its table named with "_"', async () => {
      copyFileSync(
        path.join(REPO, 'schemas/registrations.schema.json'),
        path.join(box.dir, 'contracts/event-registrations.schema.json'),
      );
      const contract = path.join(box.dir, 'contracts/event-registrations.schema.json');
      const doc = JSON.parse(readFileSync(contract, 'utf8')) as Record<string, unknown>;
      delete doc.table;
      writeFileSync(contract, JSON.stringify(doc));

      const r = await box.etlJson<{ status: string }>([
        'run',
        SMALL,
        '--dataset',
        'event-registrations',
        '--schemas',
        'contracts',
      ]);
      const q = await box.etlJson<{ rows: { n: number }[] }>([
        'query',
        'SELECT count(*)::INT AS n FROM event_registrations',
        '--schemas',
        'contracts',
      ]);

      expect([r.code, r.json.status]).toEqual([0, 'SUCCEEDED']);
      expect(q.json.rows[0]!.n).toBeGreaterThan(0);
    });

    test('etl reconcile leaves a file of a dataset with a broken contract in landing: exit 64, no run record', async () => {
      const incoming = path.join(box.home, 'landing/incoming/things');
      mkdirSync(incoming, { recursive: true });
      copyFileSync(SMALL, path.join(incoming, 'a.csv'));

      const r = await box.etl(['reconcile', '--schemas', 'contracts']);

      expect(r.code).toBe(64);
      expect(r.out).toMatch(
        /skipped\s+incoming\/things\/a\.csv\s+not run: the contract of dataset "things" is broken: contracts\/things\.schema\.json#\/columns\/1\/scale/,
      );
      expect(new RunStore(path.join(box.home, 'runs')).list()).toEqual([]);
      expect(existsSync(path.join(incoming, 'a.csv'))).toBe(true);
    });

    test('a file landed for a dataset without any contract still ends REJECTED UNKNOWN_DATASET (data, not usage)', async () => {
      const incoming = path.join(box.home, 'landing/incoming/nobody');
      mkdirSync(incoming, { recursive: true });
      copyFileSync(SMALL, path.join(incoming, 'a.csv'));

      const r = await box.etl(['reconcile', '--schemas', 'contracts']);

      const [run] = new RunStore(path.join(box.home, 'runs')).list();
      expect(r.code).toBe(1);
      expect(run).toMatchObject({ displayStatus: 'REJECTED', rejection: { reason: 'UNKNOWN_DATASET' } });
    });

    test('etl watch holds a file of a broken contract back, and runs it once the contract is fixed', async () => {
      const runs = new RunStore(path.join(box.home, 'runs'));
      const stop = new AbortController();
      const watch = box.start(['watch', '--settle-ms', '200', '--schemas', 'contracts'], stop.signal);
      await box.until(() => watch.output().includes('watching'), 'the watcher to start');
      const incoming = path.join(box.home, 'landing/incoming/things');
      mkdirSync(incoming, { recursive: true });
      copyFileSync(SMALL, path.join(incoming, 'a.csv'));
      // While the contract is broken the run store stays empty.
      await new Promise((r) => setTimeout(r, 1500));
      const before = runs.list().length;

      copyFileSync(
        path.join(REPO, 'schemas/registrations.schema.json'),
        path.join(box.dir, 'contracts/things.schema.json'),
      );
      await box.until(() => runs.list().some((x) => x.status !== 'RUNNING'), 'the held file to run');
      stop.abort();
      const result = await watch.done;

      expect(before).toBe(0);
      expect(result.err).toMatch(
        /incoming\/things\/a\.csv waits in landing, not run: the contract of dataset "things" is broken/,
      );
      expect(runs.list()).toHaveLength(1);
      expect(runs.list()[0]).toMatchObject({ status: 'SUCCEEDED', dataset: 'things' });
      expect(result.code).toBe(0);
    });
  });
});

describe('where contracts are read from', () => {
  let box: Sandbox;
  beforeEach(() => (box = new Sandbox()));
  afterEach(() => box.remove());

  test('./schemas of the working directory when it exists: the shipped ones are then not used', async () => {
    mkdirSync(path.join(box.dir, 'schemas'));
    writeFileSync(path.join(box.dir, 'schemas/things.schema.json'), BROKEN);

    const r = await box.etl(['run', SMALL, '--dataset', 'registrations']);

    expect(r.code).toBe(64);
    expect(r.err).toContain(
      'no contract for dataset "registrations": schemas/registrations.schema.json does not exist (contracts from schemas (./schemas); datasets with a contract there: things)',
    );
  });

  test('without ./schemas, the shipped contracts: the sample runs from any folder', async () => {
    const r = await box.etlJson<{ status: string }>(['run', SMALL, '--dataset', 'registrations']);
    expect([r.code, r.json.status]).toEqual([0, 'SUCCEEDED']);
  });
});
