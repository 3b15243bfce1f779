/**
 * The DuckDB engine with its lake in an object store bucket (runTransformOnStore, what the
 * Transform Lambda runs): against the local folder store and against S3 on a moto server, it must
 * publish what the folder path publishes for the same staging, replace exactly its own objects,
 * never publish over a newer version, and fail clearly while another run holds the publish lock.
 */
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LocalObjectStore, readObjectText } from '../../adapters/local/object-store';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { TransformFailedError, TransientDependencyError } from '../../core/errors';
import { lake as layout } from '../../core/layout';
import type { TransformPlan } from '../../core/plan';
import type { ObjectStore } from '../../core/ports';
import type { TransformManifest } from '../../core/steps';
import { runTransformOnStore } from '../../transform/duckdb';
import { startMoto, resetMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';
import {
  LakeReader,
  filesUnder,
  freshLake,
  kitchenSinkPlan,
  registrationsPlan,
  staging,
  transformFixture,
} from './lake-fixture';

const LAKE = 'lake';
const MINE = 'signups-0123456789ab';
const OTHER = 'other-file-ba9876543210';
/** Two versions of one key, in event order (core/events sequencerOrderKey keys). */
const OLDER = '0'.repeat(63) + '1';
const NEWER = '0'.repeat(63) + '2';

/** Makes a fresh store with an empty lake bucket, for one test. */
type FreshStore = () => Promise<ObjectStore>;

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

let reader: LakeReader;
beforeAll(async () => {
  reader = await LakeReader.open();
});
afterAll(() => reader.close());

function storePathSuite(name: string, freshStore: FreshStore) {
  describe(`${name}: the store path`, () => {
    let store: ObjectStore;
    let scratchDir: string;
    beforeEach(async () => {
      store = await freshStore();
      scratchDir = tempDir('transform-scratch-');
    });

    /** Uploads a staging fixture as version `versionTag` of `sourceId`, as the validate step would. */
    async function uploadStaging(plan: TransformPlan, sourceId: string, fixture: string, versionTag: string) {
      const dir = staging(plan.dataset as 'registrations' | 'kitchen_sink', fixture);
      const prefix = layout.stagingPrefix(plan.dataset, sourceId, versionTag);
      // Every file of the folder, also those that are not parts (report.json, *.tmp): both paths ignore them.
      for (const file of readdirSync(dir))
        await store.put(LAKE, `${prefix}${file}`, readFileSync(path.join(dir, file)));
    }

    /** Uploads the fixture, then runs the store path on it. */
    async function transformOnStore(
      sourceId: string,
      fixture: string,
      extra: {
        plan?: TransformPlan;
        versionTag?: string;
        sourceOrder?: string;
        publishLockWaitMs?: number;
      } = {},
    ): Promise<TransformManifest> {
      const plan = extra.plan ?? registrationsPlan();
      const versionTag = extra.versionTag ?? 'v1';
      await uploadStaging(plan, sourceId, fixture, versionTag);
      return runTransformOnStore(
        {
          store: store,
          lakeBucket: LAKE,
          scratchDir,
          plan,
          sourceId,
          versionTag,
          ...(extra.sourceOrder !== undefined && { sourceOrder: extra.sourceOrder }),
        },
        {
          threads: 1,
          ...(extra.publishLockWaitMs !== undefined && { publishLockWaitMs: extra.publishLockWaitMs }),
        },
      );
    }

    /** Every object of the bucket outside staging/, with its etag: equal snapshots mean nothing changed. */
    async function lakeSnapshot(): Promise<Record<string, string>> {
      const out: Record<string, string> = {};
      for await (const o of store.list(LAKE, '')) if (!o.key.startsWith('staging/')) out[o.key] = o.etag;
      return out;
    }

    /** The rows of curated objects, read back with DuckDB from a local copy (partition from the folder). */
    async function rowsOf(keys: readonly string[], dataset: string): Promise<Record<string, unknown>[]> {
      const copy = tempDir('transform-copy-');
      for (const key of keys) {
        mkdirSync(path.dirname(path.join(copy, key)), { recursive: true });
        await pipeline(await store.get({ bucket: LAKE, key }), createWriteStream(path.join(copy, key)));
      }
      return reader.rows(`SELECT * FROM ${reader.curated(copy, dataset)} ORDER BY ALL`);
    }

    const withoutTimes = ({ startedAt: _s, finishedAt: _f, timingsMs: _t, ...rest }: TransformManifest) =>
      rest;

    test.each([
      ['registrations', 'dedupe'],
      ['registrations', 'two-parts'],
      ['registrations', 'many-days'],
      ['kitchen_sink', 'values'],
    ] as const)('%s/%s: the same objects, rows and manifest as the folder path', async (dataset, fixture) => {
      const plan = dataset === 'kitchen_sink' ? kitchenSinkPlan() : registrationsPlan();
      const folder = freshLake();
      try {
        const expected = await transformFixture(
          folder.dir,
          MINE,
          fixture,
          { threads: 1 },
          { plan, sourceOrder: OLDER },
        );

        const manifest = await transformOnStore(MINE, fixture, { plan, sourceOrder: OLDER });

        expect(manifest.objects.length).toBeGreaterThan(0);
        expect(withoutTimes(manifest)).toEqual(withoutTimes(expected));
        const published = Object.keys(await lakeSnapshot()).sort();
        expect(published).toEqual([...expected.objects, layout.manifest(dataset, MINE)].sort());
        const inPlace = JSON.parse(
          await readObjectText(store, { bucket: LAKE, key: layout.manifest(dataset, MINE) }),
        ) as TransformManifest;
        expect(withoutTimes(inPlace)).toEqual(withoutTimes(expected));
        const folderRows = await reader.rows(
          `SELECT * FROM ${reader.curated(folder.dir, dataset)} ORDER BY ALL`,
        );
        expect(folderRows.length).toBe(expected.rowsOut);
        expect(await rowsOf(manifest.objects, dataset)).toEqual(folderRows);
        expect(filesUnder(scratchDir)).toEqual([]);
      } finally {
        folder.remove();
      }
    });

    test('a rerun replaces exactly its own objects: a day it no longer has is removed, another file is untouched', async () => {
      await transformOnStore(OTHER, 'other-source');
      const first = await transformOnStore(MINE, 'rerun-v1');
      const before = await lakeSnapshot();

      const rerun = await transformOnStore(MINE, 'rerun-v2', { versionTag: 'v2' });

      const after = await lakeSnapshot();
      const mine = (snapshot: Record<string, string>) =>
        Object.keys(snapshot).filter(
          (k) => k.startsWith('curated/') && k.endsWith(`/${MINE}.snappy.parquet`),
        );
      expect(mine(after)).toEqual([...rerun.objects]);
      const gone = first.objects.filter((k) => !rerun.objects.includes(k));
      expect(gone.length).toBeGreaterThan(0);
      for (const key of gone) expect(after[key]).toBeUndefined();
      for (const key of Object.keys(before).filter((k) => k.includes(OTHER)))
        expect(after[key]).toBe(before[key]);
      const inPlace = JSON.parse(
        await readObjectText(store, { bucket: LAKE, key: layout.manifest('registrations', MINE) }),
      ) as TransformManifest;
      expect(inPlace).toMatchObject({ versionTag: 'v2', objects: rerun.objects });
      const rows = await rowsOf(rerun.objects, 'registrations');
      expect(new Set(rows.map((r) => r.attendee_notes))).toEqual(new Set(['v2 moved']));
    });

    test('an older version (smaller sourceOrder) publishes nothing over a newer one', async () => {
      const newer = await transformOnStore(MINE, 'rerun-v2', { versionTag: 'v2', sourceOrder: NEWER });
      const before = await lakeSnapshot();

      const older = await transformOnStore(MINE, 'rerun-v1', { versionTag: 'v1', sourceOrder: OLDER });

      expect(older).toMatchObject({
        versionTag: 'v1',
        objects: [],
        partitions: [],
        superseded: { byVersionTag: 'v2', bySourceOrder: NEWER },
      });
      expect(await lakeSnapshot()).toEqual(before);
      expect(
        JSON.parse(
          await readObjectText(store, { bucket: LAKE, key: layout.manifest('registrations', MINE) }),
        ),
      ).toMatchObject({ versionTag: 'v2', sourceOrder: NEWER, objects: newer.objects });
    });

    test('a manifest in place that cannot be read (denied, not missing) fails the run instead of publishing', async () => {
      await transformOnStore(MINE, 'rerun-v2', { versionTag: 'v2', sourceOrder: NEWER });
      const before = await lakeSnapshot();
      const manifestKey = layout.manifest('registrations', MINE);
      const denying: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
        get: (ref: { bucket: string; key: string }) =>
          ref.key === manifestKey
            ? Promise.reject(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }))
            : store.get(ref),
      });
      await uploadStaging(registrationsPlan(), MINE, 'rerun-v1', 'v1');

      const run = runTransformOnStore(
        {
          store: denying,
          lakeBucket: LAKE,
          scratchDir,
          plan: registrationsPlan(),
          sourceId: MINE,
          versionTag: 'v1',
          sourceOrder: OLDER,
        },
        { threads: 1 },
      );

      await expect(run).rejects.toThrow('Access Denied');
      expect(await lakeSnapshot()).toEqual(before);
    });

    test('while another run holds the publish lock, the run fails naming the lock and publishes nothing', async () => {
      await transformOnStore(MINE, 'rerun-v1');
      const lock = `tmp/transform/${MINE}.publish.lock`;
      await store.put(LAKE, lock, 'held by another run');
      const before = await lakeSnapshot();

      const run = transformOnStore(MINE, 'rerun-v2', { versionTag: 'v2', publishLockWaitMs: 300 });

      await expect(run).rejects.toThrow(TransformFailedError);
      await expect(run).rejects.toThrow(
        new RegExp(
          `another run has held lake/tmp/transform/${MINE}\\.publish\\.lock for over 0\\.3 s\\. Fix: let it finish`,
        ),
      );
      expect(await lakeSnapshot()).toEqual(before);
      expect(await readObjectText(store, { bucket: LAKE, key: lock })).toBe('held by another run');
      expect(filesUnder(scratchDir)).toEqual([]);
    });

    test('two runs of one source at once publish one after the other, each whole, and release the lock', async () => {
      await Promise.all([
        transformOnStore(MINE, 'rerun-v1'),
        transformOnStore(MINE, 'rerun-v2', { versionTag: 'v2' }),
      ]);

      const manifest = JSON.parse(
        await readObjectText(store, { bucket: LAKE, key: layout.manifest('registrations', MINE) }),
      ) as TransformManifest;
      const curated = Object.keys(await lakeSnapshot()).filter((k) => k.startsWith('curated/'));
      expect(curated).toEqual([...manifest.objects]);
      const notes = new Set((await rowsOf(manifest.objects, 'registrations')).map((r) => r.attendee_notes));
      expect(notes).toEqual(new Set([manifest.versionTag === 'v2' ? 'v2 moved' : 'v1']));
      expect(Object.keys(await lakeSnapshot()).filter((k) => k.startsWith('tmp/'))).toEqual([]);
    });

    test('a throttled release of the publish lock is tried again: the lock goes, the next run publishes at once', async () => {
      const lock = `tmp/transform/${MINE}.publish.lock`;
      const real = store;
      let refused = 0;
      store = Object.assign(Object.create(real) as ObjectStore, {
        delete: async (ref: { bucket: string; key: string }) => {
          if (ref.key === lock && refused < 2) {
            refused++;
            throw new TransientDependencyError('S3 DeleteObject: ThrottlingException (test)');
          }
          return real.delete(ref);
        },
      });
      try {
        await transformOnStore(MINE, 'rerun-v1');
      } finally {
        store = real;
      }
      expect(refused).toBe(2);
      expect(Object.keys(await lakeSnapshot()).filter((k) => k.startsWith('tmp/'))).toEqual([]);
      await transformOnStore(MINE, 'rerun-v2', { versionTag: 'v2', publishLockWaitMs: 300 });
    });

    test('staging without _SUCCESS is refused, naming the prefix, and nothing is written', async () => {
      const run = transformOnStore(MINE, 'no-success');

      await expect(run).rejects.toThrow(
        new RegExp(
          `staging prefix lake/staging/registrations/${MINE}/v1/ has no _SUCCESS marker.*re-run the validate step`,
        ),
      );
      expect(await lakeSnapshot()).toEqual({});
    });

    test('staging under another contract version is refused, naming the object', async () => {
      const run = transformOnStore(MINE, 'other-contract');

      await expect(run).rejects.toThrow(
        new RegExp(
          `lake/staging/registrations/${MINE}/v1/part-00000\\.jsonl: staging columns do not match the registrations plan`,
        ),
      );
      expect(await lakeSnapshot()).toEqual({});
    });
  });
}

// ---- the local folder store ---------------------------------------------------------------------

storePathSuite('LocalObjectStore', async () => new LocalObjectStore(tempDir('transform-store-')));

// ---- S3, on a moto server -----------------------------------------------------------------------

const runS3 = requirePythonSide('moto', 'DuckDB engine on S3ObjectStore');
(runS3 ? describe : describe.skip)('S3ObjectStore (moto)', () => {
  let moto: MotoServer;
  let client: S3Client;
  beforeAll(async () => {
    moto = await startMoto();
    client = new S3Client(moto.clientConfig);
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  // Versioned, as the stack's lake bucket is.
  storePathSuite('S3ObjectStore', async () => {
    await resetMoto(moto);
    await client.send(new CreateBucketCommand({ Bucket: LAKE }));
    await client.send(
      new PutBucketVersioningCommand({ Bucket: LAKE, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    return new S3ObjectStore(client);
  });
});
