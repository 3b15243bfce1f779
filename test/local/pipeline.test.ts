/**
 * The real pipeline on the local runtime, driven through its API (what `etl run` and `etl watch`
 * use underneath): events delivered twice or out of order, and a verify step that finds fewer
 * rows than the transform reported.
 */
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { homeAt } from '../../local/home';
import { objectCreatedEvent, putInLanding } from '../../local/landing';
import { createLocalPipeline, type LocalPipeline } from '../../local/pipeline';
import { visitsOf } from '../../local/run-record';

const SMALL = path.join(__dirname, '../fixtures/local/registrations/small.csv');
const KEY = 'incoming/registrations/small.csv';

function parquetFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.parquet'))
    .map((e) => path.join(e.parentPath, e.name));
}

describe('local pipeline', () => {
  let root: string;
  let pipeline: LocalPipeline;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'etl-pipeline-'));
    pipeline = createLocalPipeline({ home: homeAt(root) });
  });
  afterEach(() => {
    pipeline.close();
    rmSync(root, { recursive: true, force: true });
  });

  const land = async () => {
    const info = await putInLanding(pipeline.store, pipeline.home.landingBucket, KEY, SMALL);
    return objectCreatedEvent(pipeline.home.landingBucket, info);
  };

  test('the real definition passes the interpreter validation (the CLI skips it for speed)', () => {
    expect(() => createLocalPipeline({ home: homeAt(root), validateDefinition: true })).not.toThrow();
  });

  test('the same event delivered twice: one transform, the second run ends at DuplicateDelivery', async () => {
    const event = await land();

    const first = await pipeline.runtime.start(event).done;
    const files = parquetFiles(pipeline.home.lakeDir);
    const second = await pipeline.runtime.start(event).done;

    expect(first).toMatchObject({ status: 'SUCCEEDED', endState: 'Succeeded' });
    expect(second).toMatchObject({ status: 'SUCCEEDED', endState: 'DuplicateDelivery' });
    expect(visitsOf(second).map((v) => v.name)).not.toContain('Transform');
    expect(visitsOf(second).map((v) => v.name)).not.toContain('Validate');
    expect(parquetFiles(pipeline.home.lakeDir)).toEqual(files);
  });

  test('an older version’s event arriving after a newer one’s ends at StaleVersion and changes nothing', async () => {
    const older = await land();
    const newer = await land(); // the same key uploaded again: a new version

    const latest = await pipeline.runtime.start(newer).done;
    const late = await pipeline.runtime.start(older).done;

    expect(latest.status).toBe('SUCCEEDED');
    expect(late).toMatchObject({ status: 'SUCCEEDED', endState: 'StaleVersion' });
    expect(visitsOf(late).map((v) => v.name)).not.toContain('Transform');
  });

  test('verify finds fewer rows than the transform wrote → FAILED at Verify, not retried as success', async () => {
    const event = await land();

    const record = await pipeline.runtime.start(event, {
      // Another hand removes one of this file's Parquet objects between Transform and Verify.
      beforeTask: (state) => {
        if (state === 'Verify') unlinkSync(parquetFiles(path.join(pipeline.home.lakeDir, 'curated'))[0]!);
      },
    }).done;

    expect(record).toMatchObject({ status: 'FAILED', endState: 'Verify', error: 'VerificationFailedError' });
    expect(JSON.parse(record.cause!).errorMessage).toMatch(/row|count|object/i);
    const verify = visitsOf(record).find((v) => v.name === 'Verify')!;
    expect(verify.status).toBe('FAILED');
    expect(visitsOf(record).map((v) => v.name)).not.toContain('Archive');
  });
});
