/**
 * Archive scenarios on a tmp-dir lake: the processed original moves to archive/, the ledger says
 * SUCCEEDED, the notice carries counts and locations, and a second run changes nothing.
 */
import { logger } from '../../core/instrumentation';
import { sourceIdOf, versionTagOf } from '../../core/layout';
import { sourceObjectOf } from '../../core/events';
import { archiveObject, type ArchiveInput } from '../../functions/archive/archive';
import { createArchiveStep } from '../../functions/archive/step';
import { LAKE, LANDING, fixture, readText, tmpLake, type TmpLake } from './landing';

const KEY = 'incoming/registrations/2026/march sign-ups.csv';
const COUNTS = { rowsRead: 10, rowsValid: 9, rowsRejected: 1, rowsOut: 8 };
let lake: TmpLake;
beforeAll(() => logger.setLogLevel('SILENT'));
beforeEach(() => (lake = tmpLake()));
afterEach(() => lake.remove());

async function landAndClaim(): Promise<{ input: ArchiveInput; versionId: string }> {
  const { event, info } = await lake.land(KEY, fixture('bad-header.csv'));
  const versionTag = versionTagOf(info.versionId, info.etag);
  await lake.ledger.claim({
    bucket: LANDING,
    key: KEY,
    versionTag,
    runId: 'run-1',
    claimedAt: new Date().toISOString(),
  });
  return {
    versionId: info.versionId!,
    input: {
      runId: 'run-1',
      source: sourceObjectOf(event),
      dataset: 'registrations',
      sourceId: sourceIdOf(KEY),
      versionTag,
      lakeBucket: LAKE,
      counts: COUNTS,
    },
  };
}

describe('archive', () => {
  test('moves the original to archive/<dataset>/<sourceId>/<versionTag>/, records SUCCEEDED, builds the notice', async () => {
    const { input } = await landAndClaim();

    const result = await createArchiveStep({ store: lake.store, ledger: lake.ledger })(input);

    expect(result.archived).toEqual({
      bucket: LAKE,
      key: `archive/registrations/${input.sourceId}/${input.versionTag}/march sign-ups.csv`,
    });
    expect(await readText(lake.store, LAKE, result.archived.key)).toBe(fixture('bad-header.csv').toString());
    expect(await lake.store.head({ bucket: LANDING, key: KEY })).toBeUndefined();
    expect((await lake.ledger.get({ bucket: LANDING, key: KEY, versionTag: input.versionTag }))?.status).toBe(
      'SUCCEEDED',
    );
    expect(result.notice).toEqual({
      status: 'SUCCEEDED',
      runId: 'run-1',
      dataset: 'registrations',
      file: { bucket: LANDING, key: KEY, versionId: input.source.versionId },
      counts: COUNTS,
      curated: `s3://${LAKE}/curated/registrations/`,
      manifest: `s3://${LAKE}/manifests/registrations/${input.sourceId}.json`,
      archived: `s3://${LAKE}/${result.archived.key}`,
    });
    // What Notify publishes as is (no intrinsic): the same notice as JSON text.
    expect(JSON.parse(result.noticeText)).toEqual(result.notice);
  });

  test('running it again (a redrive after a crash) is harmless and keeps one archived copy', async () => {
    const { input, versionId } = await landAndClaim();

    await archiveObject(input, { store: lake.store, ledger: lake.ledger });
    const again = await archiveObject(input, { store: lake.store, ledger: lake.ledger });

    expect(again.originalRemoved).toBe(true);
    const keys: string[] = [];
    for await (const o of lake.store.list(LAKE, 'archive/')) keys.push(o.key);
    expect(keys).toEqual([again.archived.key]);
    expect(await readText(lake.store, LANDING, KEY, versionId)).toBe(fixture('bad-header.csv').toString());
  });

  test('a version that vanished without a copy is an error naming both places, not a silent success', async () => {
    const { input } = await landAndClaim();
    const gone = { ...input, source: { ...input.source, versionId: 'no-such-version' } };

    await expect(archiveObject(gone, { store: lake.store, ledger: lake.ledger })).rejects.toThrow(
      /no longer exists and no copy is at s3:\/\/serverless-etl-lake\/archive\/registrations\//,
    );
  });
});

describe('archive without versions', () => {
  test('an unversioned key overwritten meanwhile is not moved: the newer upload stays, the error says why', async () => {
    const { input } = await landAndClaim();
    const unversioned = {
      ...input,
      source: { ...input.source, versionId: undefined },
    } as unknown as ArchiveInput;
    await lake.store.put(LANDING, KEY, 'registration_id\nREG-00000009\n');

    await expect(archiveObject(unversioned, { store: lake.store, ledger: lake.ledger })).rejects.toThrow(
      /no longer exists/,
    );
    expect(await readText(lake.store, LANDING, KEY)).toBe('registration_id\nREG-00000009\n');
  });
});
