/**
 * Pipeline faults driven through the real runtime and CLI: a fault file makes a named state fail
 * with a given error name, the ASL's Retry/Catch react to that name exactly as on AWS, and a run
 * that failed for good is resumed with `etl redrive`.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LocalCatalog } from '../../adapters/local/catalog';
import type { RunRecord } from '../../local/run-record';
import { visitsOf } from '../../local/run-record';
import { Sandbox } from './harness';

interface RunJson {
  runId: string;
  status: string;
  endState?: string;
  error?: string;
  rowsValid: number;
  rowsWritten: number;
  redriveCount: number;
  outputs: { record: string };
  states: { name: string; status: string; retries: number; attempts: number; error?: string }[];
}

const CRAWLER = 'serverless-etl-curated';

describe('faults, retries and redrive', () => {
  // These faults are the Glue task's (Glue.* errors, its timeout rules): every file takes the Glue
  // path, as `etl run` does for any file above the routing threshold (TransformEngine).
  const threshold = process.env.ETL_TRANSFORM_LAMBDA_MAX_BYTES;
  beforeAll(() => {
    process.env.ETL_TRANSFORM_LAMBDA_MAX_BYTES = '0';
  });
  afterAll(() => {
    if (threshold === undefined) delete process.env.ETL_TRANSFORM_LAMBDA_MAX_BYTES;
    else process.env.ETL_TRANSFORM_LAMBDA_MAX_BYTES = threshold;
  });
  let box: Sandbox;
  let csv: string;
  const expected = JSON.parse(
    readFileSync(path.join(__dirname, '../fixtures/local/registrations/small.expected.json'), 'utf8'),
  ) as { pipeline: { rowsOut: number } };

  const writeFaults = (faults: unknown) =>
    writeFileSync(path.join(box.home, 'faults.json'), JSON.stringify(faults));
  const recordOf = (run: RunJson) => JSON.parse(readFileSync(run.outputs.record, 'utf8')) as RunRecord;

  beforeEach(async () => {
    box = new Sandbox();
    csv = box.copyFixture('registrations/small.csv', 'data/registrations/small.csv');
    mkdirSync(box.home, { recursive: true }); // for the fault file
  });
  afterEach(() => box.remove());

  test('Glue ConcurrentRunsExceeded twice, then success: retried by name, both failures in the history', async () => {
    writeFaults({ Transform: { error: 'Glue.ConcurrentRunsExceededException', times: 2 } });

    const { code, json: run } = await box.etlJson<RunJson>(['run', csv]);

    expect(code).toBe(0);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.states.find((s) => s.name === 'Transform')).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 3,
      retries: 2,
    });
    const failed = recordOf(run).events.filter((e) => e.type === 'TaskFailed');
    expect(failed.map((e) => e.taskFailedEventDetails!.error)).toEqual([
      'Glue.ConcurrentRunsExceededException',
      'Glue.ConcurrentRunsExceededException',
    ]);
    const show = await box.etl(['runs', 'show', run.runId]);
    expect(show.out).toMatch(/↻ Transform .*2 retries \(Glue\.ConcurrentRunsExceededException\)/);
  });

  test('transform fails for good → FAILED at Transform; fault removed → redrive resumes there, validate not re-run, no duplicate rows', async () => {
    writeFaults({ Transform: { error: 'States.TaskFailed', cause: 'job crashed: executor lost' } });

    const failed = await box.etlJson<RunJson>(['run', csv]);

    expect(failed.code).toBe(1);
    expect(failed.json).toMatchObject({
      status: 'FAILED',
      endState: 'Transform',
      error: 'States.TaskFailed',
    });
    const show = await box.etl(['runs', 'show', failed.json.runId]);
    expect(show.out).toMatch(/✗ Transform\s+FAILED/);
    expect(show.out).toContain('job crashed: executor lost');

    rmSync(path.join(box.home, 'faults.json'));
    const redriven = await box.etlJson<RunJson>(['redrive', failed.json.runId]);

    expect(redriven.code).toBe(0);
    expect(redriven.json).toMatchObject({ runId: failed.json.runId, status: 'SUCCEEDED', redriveCount: 1 });
    const visits = visitsOf(recordOf(redriven.json));
    expect(visits.filter((v) => v.name === 'Validate')).toHaveLength(1);
    expect(visits.filter((v) => v.name === 'Claim')).toHaveLength(1);
    expect(visits.filter((v) => v.name === 'Transform').map((v) => v.status)).toEqual([
      'FAILED',
      'SUCCEEDED',
    ]);
    const count = await box.etlJson<{ rows: { n: unknown; ids: unknown }[] }>([
      'query',
      'SELECT count(*) AS n, count(DISTINCT registration_id) AS ids FROM registrations',
    ]);
    expect(Number(count.json.rows[0]!.n)).toBe(expected.pipeline.rowsOut);
    expect(Number(count.json.rows[0]!.ids)).toBe(expected.pipeline.rowsOut);
  });

  test('crawler already running: StartCrawl retried; held for good → FAILED there, released → redrive succeeds', async () => {
    // Since issue 12 only a table's first file (or a changed schema) runs the crawl. The first run
    // here is the table's first (a fresh home); before the second, the table is dropped from the
    // local catalog so that file is the table's first again and takes StartCrawl..PollCrawl.
    const catalogFile = path.join(box.home, 'catalog.json');
    const dropTable = () => {
      const file = JSON.parse(readFileSync(catalogFile, 'utf8')) as { tables: Record<string, unknown> };
      expect(file.tables.registrations).toBeDefined();
      delete file.tables.registrations;
      writeFileSync(catalogFile, `${JSON.stringify(file, null, 2)}\n`);
    };
    writeFaults({ StartCrawl: { error: 'CrawlerRunningError', times: 2 } });
    const retried = await box.etlJson<RunJson>(['run', csv]);
    expect(retried.json.status).toBe('SUCCEEDED');
    expect(retried.json.states.find((s) => s.name === 'StartCrawl')).toMatchObject({ retries: 2 });

    rmSync(path.join(box.home, 'faults.json'));
    dropTable();
    const catalog = new LocalCatalog({
      catalogFile,
      lakeDir: path.join(box.home, 'lake'),
    });
    await catalog.holdCrawler(CRAWLER, 'RUNNING');
    const again = box.copyFixture('registrations/small.csv', 'data/registrations/small-2.csv');
    const stuck = await box.etlJson<RunJson>(['run', again]);

    expect(stuck.code).toBe(1);
    // Whether the ASL gives up while starting the crawl or while waiting for it to be READY is
    // its own choice; either way the run fails at a catalog state, after spending its retries.
    expect(stuck.json.status).toBe('FAILED');
    expect(['StartCrawl', 'PollCrawl']).toContain(stuck.json.endState);
    expect(stuck.json.error).toMatch(/^Crawler(Running|NotReady)Error$/);
    const failedAt = stuck.json.states.find((s) => s.name === stuck.json.endState)!;
    expect(failedAt.retries).toBeGreaterThan(0);

    // Released: the other crawl finishes, having listed the lake. A local crawl is instant, so it
    // runs here, after this run's output exists (on AWS the crawl the run joined lists S3 after its
    // start-up). Flipping the state alone would leave the last crawl the first run's, a crawl from
    // before this run's output, which PollCrawl's clock tolerance may accept: the table this run
    // needs would not be in the catalog.
    await catalog.holdCrawler(CRAWLER, 'READY');
    await catalog.startCrawler(CRAWLER);
    const resumed = await box.etlJson<RunJson>(['redrive', stuck.json.runId]);
    expect(resumed.json.status).toBe('SUCCEEDED');
  });

  test('redrive is refused for a SUCCEEDED run, with a clear message and exit 1', async () => {
    const ok = await box.etlJson<RunJson>(['run', csv]);
    expect(ok.json.status).toBe('SUCCEEDED');

    const refused = await box.etl(['redrive', ok.json.runId]);

    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /redrive refused: .*SUCCEEDED; only FAILED, TIMED_OUT or ABORTED runs can be redriven/,
    );
    expect(recordOf(ok.json).redriveCount).toBe(0);
    const unknown = await box.etl(['redrive', 'no-such-run']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/no run "no-such-run"/);
  });
});
