/**
 * One contract for every ObjectStore adapter: the local folder store in a tmp dir, and the S3
 * store against a moto server (versioned buckets). Both must behave the same for the steps.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalObjectStore, readObjectText } from '../../adapters/local/object-store';
import {
  copyPartSizeFor,
  MULTIPART_COPY_THRESHOLD,
  S3_PART_LIMITS,
  S3ObjectStore,
} from '../../adapters/aws/s3-object-store';
import { NoSuchKeyError, ObjectExistsError, type ObjectInfo, type ObjectStore } from '../../core/ports';
import { startMoto, resetMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

interface Harness {
  store: ObjectStore;
  /** Creates the (versioned) buckets one test uses. */
  makeBuckets(...names: string[]): Promise<void>;
  /** The content type and user metadata of an object's current version (not on the port). */
  metaOf(bucket: string, key: string): Promise<{ contentType?: string; metadata?: Record<string, string> }>;
}

async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of it) out.push(info);
  return out;
}

function objectStoreContract(name: string, setup: () => Promise<Harness>) {
  describe(`${name}: ObjectStore contract`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await setup();
      await h.makeBuckets('landing', 'lake');
    });

    test('put then get returns the same bytes; head reports size and version', async () => {
      const info = await h.store.put('landing', 'incoming/registrations/a.csv', 'id\n1\n');
      expect(info.size).toBe(5);
      expect(info.versionId).toEqual(expect.any(String));
      expect(await readObjectText(h.store, { bucket: 'landing', key: 'incoming/registrations/a.csv' })).toBe(
        'id\n1\n',
      );
      const head = await h.store.head({ bucket: 'landing', key: 'incoming/registrations/a.csv' });
      expect(head).toMatchObject({ key: 'incoming/registrations/a.csv', size: 5, versionId: info.versionId });
      expect(head!.etag).not.toMatch(/"/);
    });

    test('every put is a version; get and head with a versionId return that version', async () => {
      const v1 = await h.store.put('landing', 'k.csv', 'first');
      const v2 = await h.store.put('landing', 'k.csv', 'second, longer');
      expect(v2.versionId).not.toBe(v1.versionId);
      expect(
        await readObjectText(h.store, { bucket: 'landing', key: 'k.csv', versionId: v1.versionId }),
      ).toBe('first');
      expect(await readObjectText(h.store, { bucket: 'landing', key: 'k.csv' })).toBe('second, longer');
      expect((await h.store.head({ bucket: 'landing', key: 'k.csv', versionId: v1.versionId }))!.size).toBe(
        5,
      );
    });

    test('a streamed put uploads the whole stream, larger than one S3 part', async () => {
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      const body = Readable.from(
        (function* () {
          for (let i = 0; i < 6; i++) yield chunk;
        })(),
      );
      const info = await h.store.put('lake', 'staging/big.jsonl', body, {
        contentType: 'application/x-ndjson',
      });
      expect(info.size).toBe(6 * 1024 * 1024);
      expect((await h.store.head({ bucket: 'lake', key: 'staging/big.jsonl' }))!.size).toBe(6 * 1024 * 1024);
    });

    test('a create-only put writes a free key, and refuses a taken one leaving it as it was', async () => {
      const first = await h.store.put('lake', 'tmp/transform/a.publish.lock', 'run 1', { ifNoneMatch: '*' });

      const second = h.store.put('lake', 'tmp/transform/a.publish.lock', 'run 2', { ifNoneMatch: '*' });

      await expect(second).rejects.toBeInstanceOf(ObjectExistsError);
      await expect(second).rejects.toThrow(/tmp\/transform\/a\.publish\.lock already exists/);
      expect(await readObjectText(h.store, { bucket: 'lake', key: 'tmp/transform/a.publish.lock' })).toBe(
        'run 1',
      );
      expect((await h.store.head({ bucket: 'lake', key: 'tmp/transform/a.publish.lock' }))!.versionId).toBe(
        first.versionId,
      );
    });

    test('of create-only puts racing for one key exactly one wins; after a delete the key is free again', async () => {
      const key = 'tmp/transform/race.publish.lock';
      const outcomes = await Promise.allSettled(
        ['a', 'b', 'c', 'd', 'e'].map((who) => h.store.put('lake', key, who, { ifNoneMatch: '*' })),
      );

      const won = outcomes.filter((o) => o.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const o of outcomes.filter((o) => o.status === 'rejected')) {
        expect((o as PromiseRejectedResult).reason).toBeInstanceOf(ObjectExistsError);
      }
      const winner = await readObjectText(h.store, { bucket: 'lake', key });
      expect(['a', 'b', 'c', 'd', 'e']).toContain(winner);

      await h.store.delete({ bucket: 'lake', key });
      await h.store.put('lake', key, 'next', { ifNoneMatch: '*' });
      expect(await readObjectText(h.store, { bucket: 'lake', key })).toBe('next');
    });

    test('a streamed create-only put larger than one S3 part is refused on a taken key', async () => {
      // The object in place is a single-part one: moto lets a multipart upload complete over an
      // object that was itself multipart-uploaded (it takes it for a retried completion).
      await h.store.put('lake', 'tmp/big.bin', 'small, in place');
      const big = Readable.from(
        (function* () {
          for (let i = 0; i < 6; i++) yield Buffer.alloc(1024 * 1024, 'y');
        })(),
      );

      await expect(h.store.put('lake', 'tmp/big.bin', big, { ifNoneMatch: '*' })).rejects.toBeInstanceOf(
        ObjectExistsError,
      );
      expect(await readObjectText(h.store, { bucket: 'lake', key: 'tmp/big.bin' })).toBe('small, in place');
    });

    test('missing objects: get rejects with NoSuchKeyError, head is undefined', async () => {
      await expect(h.store.get({ bucket: 'landing', key: 'nope.csv' })).rejects.toBeInstanceOf(
        NoSuchKeyError,
      );
      expect(await h.store.head({ bucket: 'landing', key: 'nope.csv' })).toBeUndefined();
    });

    test('delete removes the current object, keeps earlier versions, and is idempotent', async () => {
      const v1 = await h.store.put('landing', 'd.csv', 'keep me');
      await h.store.delete({ bucket: 'landing', key: 'd.csv' });
      await h.store.delete({ bucket: 'landing', key: 'd.csv' });
      expect(await h.store.head({ bucket: 'landing', key: 'd.csv' })).toBeUndefined();
      expect(
        await readObjectText(h.store, { bucket: 'landing', key: 'd.csv', versionId: v1.versionId }),
      ).toBe('keep me');
    });

    test('copy copies the exact version asked for, across buckets', async () => {
      const v1 = await h.store.put('landing', 'incoming/x/c.csv', 'v1');
      await h.store.put('landing', 'incoming/x/c.csv', 'v2');
      await h.store.copy(
        { bucket: 'landing', key: 'incoming/x/c.csv', versionId: v1.versionId },
        'lake',
        'archive/c.csv',
      );
      expect(await readObjectText(h.store, { bucket: 'lake', key: 'archive/c.csv' })).toBe('v1');
      await expect(
        h.store.copy({ bucket: 'landing', key: 'incoming/x/none.csv' }, 'lake', 'archive/none.csv'),
      ).rejects.toBeInstanceOf(NoSuchKeyError);
    });

    test('copy is a new version of the destination with the source bytes, etag, content type and metadata; a later overwrite of the source leaves it alone', async () => {
      const body = 'id,name\n1,a\n2,b\n';
      const src = await h.store.put('landing', 'incoming/x/m.csv', body, {
        contentType: 'text/csv',
        metadata: { uploader: 'ops' },
      });
      const earlier = await h.store.put('lake', 'archive/m.csv', 'an older archived copy');

      await h.store.copy(
        { bucket: 'landing', key: 'incoming/x/m.csv', versionId: src.versionId },
        'lake',
        'archive/m.csv',
      );

      const copy = await h.store.head({ bucket: 'lake', key: 'archive/m.csv' });
      expect(copy).toMatchObject({ key: 'archive/m.csv', size: Buffer.byteLength(body), etag: src.etag });
      expect(copy!.versionId).toEqual(expect.any(String));
      expect([earlier.versionId, src.versionId]).not.toContain(copy!.versionId);
      expect(await readObjectText(h.store, { bucket: 'lake', key: 'archive/m.csv' })).toBe(body);
      expect(await h.metaOf('lake', 'archive/m.csv')).toEqual({
        contentType: 'text/csv',
        metadata: { uploader: 'ops' },
      });
      // The destination's earlier version is still there, as in a versioned bucket.
      expect(
        await readObjectText(h.store, { bucket: 'lake', key: 'archive/m.csv', versionId: earlier.versionId }),
      ).toBe('an older archived copy');

      await h.store.put('landing', 'incoming/x/m.csv', 'replaced,entirely\n');
      await h.store.delete({ bucket: 'landing', key: 'incoming/x/m.csv' });
      expect(await readObjectText(h.store, { bucket: 'lake', key: 'archive/m.csv' })).toBe(body);
      expect((await h.store.head({ bucket: 'lake', key: 'archive/m.csv' }))!.versionId).toBe(copy!.versionId);
      expect(
        await readObjectText(h.store, {
          bucket: 'landing',
          key: 'incoming/x/m.csv',
          versionId: src.versionId,
        }),
      ).toBe(body);
    });

    test('list yields current objects under a prefix in key order (UTF-8 byte order, like S3)', async () => {
      for (const key of [
        'p/b.csv',
        'p/a.csv',
        'p/sub/c.csv',
        'p/\u{1F600}.csv',
        'p/\uFF21.csv',
        'q/z.csv',
        'pp.csv',
      ]) {
        await h.store.put('lake', key, key);
      }
      await h.store.delete({ bucket: 'lake', key: 'p/b.csv' });
      const keys = (await collect(h.store.list('lake', 'p/'))).map((o) => o.key);
      expect(keys).toEqual(['p/a.csv', 'p/sub/c.csv', 'p/\uFF21.csv', 'p/\u{1F600}.csv']);
      expect((await collect(h.store.list('lake', 'p'))).map((o) => o.key)).toContain('pp.csv');
      expect((await collect(h.store.list('lake', 'p/s'))).map((o) => o.key)).toEqual(['p/sub/c.csv']);
    });

    test('hostile keys round-trip exactly: ../, \\, control characters, %2F, spaces, emoji, 1024 bytes', async () => {
      const keys = [
        'incoming/x/../../../escape.csv',
        'incoming/x/./dot.csv',
        'incoming/x//empty-segment.csv',
        'incoming/x/back\\slash.csv',
        'incoming/x/ctl\u0001\u001f.csv',
        'incoming/x/a%2Fb.csv',
        'incoming/x/%2E%2E',
        'incoming/x/red flower+1 = ok:@.csv',
        'incoming/x/\u{1F600} caf\u00e9.csv',
        `incoming/x/${'l'.repeat(1024 - 'incoming/x/'.length - 4)}.csv`,
        'incoming/x/folder/',
      ];
      for (const key of keys) await h.store.put('landing', key, `body of ${key}`);
      for (const key of keys) {
        expect(await readObjectText(h.store, { bucket: 'landing', key })).toBe(`body of ${key}`);
      }
      const listed = (await collect(h.store.list('landing', 'incoming/x/'))).map((o) => o.key);
      expect([...listed].sort()).toEqual([...keys].sort());
    });
  });
}

// ---- the local adapter, in a tmp dir -------------------------------------------------------

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function localHarness(): Promise<Harness> {
  const root = mkdtempSync(path.join(tmpdir(), 'etl-store-'));
  roots.push(root);
  const store = new LocalObjectStore(root);
  return Promise.resolve({
    store,
    makeBuckets: () => Promise.resolve(),
    metaOf: (b, k) => localMetaOf(store, b, k),
  });
}

/** The local store's record of an object's current version (its .versions/ JSON). */
async function localMetaOf(
  store: LocalObjectStore,
  bucket: string,
  key: string,
): Promise<{ contentType?: string; metadata?: Record<string, string> }> {
  const head = await store.head({ bucket, key });
  const dir = path.join(store.rootDir, '.versions', bucket, createHash('sha256').update(key).digest('hex'));
  const meta = JSON.parse(readFileSync(path.join(dir, `${head!.versionId}.json`), 'utf8')) as {
    contentType?: string;
    metadata?: Record<string, string>;
  };
  return {
    ...(meta.contentType !== undefined && { contentType: meta.contentType }),
    ...(meta.metadata !== undefined && { metadata: meta.metadata }),
  };
}

objectStoreContract('LocalObjectStore', localHarness);

describe('LocalObjectStore: files a person can open, and no key escapes its bucket', () => {
  test('objects are plain files at <root>/<bucket>/<key>', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'etl-store-'));
    roots.push(root);
    const store = new LocalObjectStore(root);
    await store.put('lake', 'staging/registrations/part-00000.jsonl', '{"a":"1"}\n');
    expect(
      readFileSync(path.join(root, 'lake', 'staging', 'registrations', 'part-00000.jsonl'), 'utf8'),
    ).toBe('{"a":"1"}\n');
  });

  test('putFile (how `etl run` lands a file) makes the same object as put: bytes, size, MD5 etag, a new version each time', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'etl-store-'));
    roots.push(root);
    const store = new LocalObjectStore(root);
    const source = path.join(root, 'outside.csv');
    const bytes = Buffer.concat([Buffer.from('id,name\n'), Buffer.alloc(3 * 1024 * 1024 + 17, 'x,y\n')]);
    writeFileSync(source, bytes);
    const a = await store.putFile('landing', 'incoming/t/a.csv', source, { contentType: 'text/csv' });
    expect((await localMetaOf(store, 'landing', 'incoming/t/a.csv')).contentType).toBe('text/csv');
    const b = await store.put('landing', 'incoming/t/b.csv', readFileSync(source));
    expect(a.etag).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(a.etag).toBe(b.etag);
    expect(a.size).toBe(bytes.length);
    expect(readFileSync(path.join(root, 'landing', 'incoming', 't', 'a.csv')).equals(bytes)).toBe(true);
    const again = await store.putFile('landing', 'incoming/t/a.csv', source);
    expect(again.versionId).not.toBe(a.versionId);
    // The landed copy is its own file: changing the source afterwards leaves the object alone.
    writeFileSync(source, 'changed\n');
    expect(readFileSync(path.join(root, 'landing', 'incoming', 't', 'a.csv')).equals(bytes)).toBe(true);
  });

  test('putScratchFile (staging parts, output partitions) makes the object put makes, and takes the file without reading it', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'etl-store-'));
    roots.push(root);
    const store = new LocalObjectStore(root);
    const scratch = path.join(root, 'scratch.parquet');
    const bytes = Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(2 * 1024 * 1024 + 5, 7)]);
    writeFileSync(scratch, bytes);
    const a = await store.putScratchFile('lake', 'staging/t/part-00000.parquet', scratch, {
      contentType: 'application/vnd.apache.parquet',
    });
    const b = await store.put('lake', 'staging/t/part-00001.parquet', bytes);
    // An opaque etag of its version, as S3 gives an SSE-KMS object (the stack's data buckets): not
    // the MD5 of the bytes (never read), and another for the next version of the same bytes.
    expect(a.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(a.etag).not.toBe(createHash('md5').update(bytes).digest('hex'));
    expect(a.etag).not.toBe(b.etag);
    expect(a.size).toBe(bytes.length);
    expect(existsSync(scratch)).toBe(false); // moved, not copied
    expect(readFileSync(path.join(root, 'lake', 'staging', 't', 'part-00000.parquet')).equals(bytes)).toBe(
      true,
    );
    expect((await localMetaOf(store, 'lake', 'staging/t/part-00000.parquet')).contentType).toBe(
      'application/vnd.apache.parquet',
    );
    const head = await store.head({ bucket: 'lake', key: 'staging/t/part-00000.parquet' });
    expect(head).toMatchObject({ etag: a.etag, size: bytes.length, versionId: a.versionId });
    writeFileSync(scratch, bytes);
    const again = await store.putScratchFile('lake', 'staging/t/part-00000.parquet', scratch);
    expect(again.etag).not.toBe(a.etag);
    expect(again.versionId).not.toBe(a.versionId);
    const first = await store.head({
      bucket: 'lake',
      key: 'staging/t/part-00000.parquet',
      versionId: a.versionId!,
    });
    expect(first?.etag).toBe(a.etag); // kept in the version's metadata
    await expect(store.putScratchFile('lake', 'staging/t/x', path.join(root, 'missing'))).rejects.toThrow(
      /ENOENT/,
    );
  });

  test('a ../ key stays inside the bucket folder', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'etl-store-'));
    roots.push(root);
    const store = new LocalObjectStore(root);
    await store.put('landing', '../../outside.csv', 'x');
    await store.put('landing', '/../abs.csv', 'y');
    expect(existsSync(path.join(root, '..', 'outside.csv'))).toBe(false);
    expect(existsSync(path.join(root, 'outside.csv'))).toBe(false);
    expect(
      store.pathOf('landing', '../../outside.csv').startsWith(path.join(root, 'landing') + path.sep),
    ).toBe(true);
    expect(readdirSync(path.join(root, 'landing')).sort()).toEqual(['%', '%2E%2E']);
    expect(await readObjectText(store, { bucket: 'landing', key: '/../abs.csv' })).toBe('y');
  });

  test('bucket names that could name another folder are refused', async () => {
    const store = new LocalObjectStore(mkdtempSync(path.join(tmpdir(), 'etl-store-')));
    await expect(store.put('../etc', 'k', 'x')).rejects.toThrow(/bucket name/);
    await expect(store.put('.versions', 'k', 'x')).rejects.toThrow(/bucket name/);
  });

  test('a file copied into the bucket folder by hand is an object without a version', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'etl-store-'));
    roots.push(root);
    mkdirSync(path.join(root, 'landing', 'incoming', 'registrations'), { recursive: true });
    writeFileSync(path.join(root, 'landing', 'incoming', 'registrations', 'hand.csv'), 'id\n');
    const store = new LocalObjectStore(root);
    const head = await store.head({ bucket: 'landing', key: 'incoming/registrations/hand.csv' });
    expect(head).toMatchObject({ size: 3 });
    expect(head!.versionId).toBeUndefined();
    expect((await collect(store.list('landing', 'incoming/'))).map((o) => o.key)).toEqual([
      'incoming/registrations/hand.csv',
    ]);
  });

  test('copy never reads the bytes through the process: the copy shares the source version file (reflink or hard link)', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'etl-store-'));
    roots.push(root);
    const store = new LocalObjectStore(root);
    const body = Buffer.alloc(3 * 1024 * 1024, 'r');
    const src = await store.put('landing', 'incoming/registrations/big.csv', body);
    const get = jest.spyOn(store, 'get');

    await store.copy(
      { bucket: 'landing', key: 'incoming/registrations/big.csv', versionId: src.versionId },
      'lake',
      'archive/registrations/big.csv',
    );

    expect(get).not.toHaveBeenCalled();
    const copied = readFileSync(path.join(root, 'lake', 'archive', 'registrations', 'big.csv'));
    expect(copied.equals(body)).toBe(true);
    // Both are the one inode (hard link) or a reflink (its own inode, same bytes): never a partial file.
    const from = statSync(store.pathOf('landing', 'incoming/registrations/big.csv'));
    const to = statSync(store.pathOf('lake', 'archive/registrations/big.csv'));
    expect(to.size).toBe(from.size);
    if (to.ino === from.ino) expect(to.nlink).toBeGreaterThanOrEqual(3); // version file + two current files
  });

  test('a hand-placed file (no version) is copied byte for byte: editing it in place later leaves the copy alone', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'etl-store-'));
    roots.push(root);
    const hand = path.join(root, 'landing', 'incoming', 'registrations', 'hand.csv');
    mkdirSync(path.dirname(hand), { recursive: true });
    writeFileSync(hand, 'id\n1\n');
    const store = new LocalObjectStore(root);

    await store.copy(
      { bucket: 'landing', key: 'incoming/registrations/hand.csv' },
      'lake',
      'archive/hand.csv',
    );
    writeFileSync(hand, 'id\nedited in place\n', { flag: 'r+' });

    expect(await readObjectText(store, { bucket: 'lake', key: 'archive/hand.csv' })).toBe('id\n1\n');
    expect(statSync(store.pathOf('lake', 'archive/hand.csv')).ino).not.toBe(statSync(hand).ino);
  });

  test('temp files of an unfinished write are never listed', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'etl-store-'));
    roots.push(root);
    const store = new LocalObjectStore(root);
    await store.put('lake', 'staging/a.jsonl', 'a');
    writeFileSync(path.join(root, 'lake', 'staging', '%tmp-crashed'), 'half');
    expect((await collect(store.list('lake', 'staging/'))).map((o) => o.key)).toEqual(['staging/a.jsonl']);
  });

  test('a failing stream leaves no object behind', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'etl-store-'));
    roots.push(root);
    const store = new LocalObjectStore(root);
    const failing = new Readable({
      read() {
        this.push('partial');
        this.destroy(new Error('network gone'));
      },
    });
    await expect(store.put('lake', 'staging/x.jsonl', failing)).rejects.toThrow('network gone');
    expect(await store.head({ bucket: 'lake', key: 'staging/x.jsonl' })).toBeUndefined();
    expect(await collect(store.list('lake', ''))).toEqual([]);
  });
});

// ---- the S3 adapter, against moto ------------------------------------------------------------

const runS3 = requirePythonSide('moto', 'S3ObjectStore contract');
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

  objectStoreContract('S3ObjectStore', async () => {
    await resetMoto(moto);
    return {
      store: new S3ObjectStore(client),
      metaOf: async (Bucket, Key) => {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key }));
        return {
          ...(head.ContentType !== undefined && { contentType: head.ContentType }),
          ...(head.Metadata !== undefined &&
            Object.keys(head.Metadata).length > 0 && { metadata: head.Metadata }),
        };
      },
      makeBuckets: async (...names) => {
        for (const Bucket of names) {
          await client.send(new CreateBucketCommand({ Bucket }));
          await client.send(
            new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }),
          );
        }
      },
    };
  });

  describe('multipart server-side copy above the threshold (Archive, Quarantine)', () => {
    const MIB = 1024 * 1024;
    /** Commands the store sends, by name. */
    let sent: string[] = [];
    let s3: S3Client;
    let store: S3ObjectStore;
    let reader: S3Client;
    let beforePart: ((partNumber: number) => Promise<void>) | undefined;

    beforeAll(() => {
      // moto's GetObject of a multipart object carries a wrong CRC32; compare sha256 instead.
      reader = new S3Client({ ...moto.clientConfig, responseChecksumValidation: 'WHEN_REQUIRED' });
      s3 = new S3Client(moto.clientConfig);
      s3.middlewareStack.add(
        (next, context) => async (args) => {
          sent.push(String(context.commandName).replace(/Command$/, ''));
          const input = args.input as { PartNumber?: number };
          if (context.commandName === 'UploadPartCopyCommand' && beforePart)
            await beforePart(input.PartNumber!);
          return next(args);
        },
        { step: 'initialize', name: 'recordForCopyTest' },
      );
    });
    afterAll(() => {
      reader?.destroy();
      s3?.destroy();
    });
    beforeEach(async () => {
      await resetMoto(moto);
      for (const Bucket of ['landing', 'lake']) {
        await client.send(new CreateBucketCommand({ Bucket }));
        await client.send(
          new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }),
        );
      }
      // The threshold lowered by the option (5 MiB parts are S3's minimum), not by faking S3.
      store = new S3ObjectStore(s3, { multipartCopyThreshold: MIB, copyPartSize: 5 * MIB });
      sent = [];
      beforePart = undefined;
    });

    /** A multipart-uploaded source (11 MiB in 5 MiB parts: ETag "…-3"), as big uploads arrive. */
    async function multipartSource(key: string, fill: string) {
      const body = Buffer.alloc(11 * MIB, fill);
      const out = await new Upload({
        client: s3,
        params: { Bucket: 'landing', Key: key, Body: body, ContentType: 'text/csv' },
        partSize: 5 * MIB,
      }).done();
      return { body, versionId: out.VersionId! };
    }

    async function sha256Of(bucket: string, key: string): Promise<string> {
      const out = await reader.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return createHash('sha256')
        .update(Buffer.from(await out.Body!.transformToByteArray()))
        .digest('hex');
    }

    test('copies a multipart object part by part (UploadPartCopy), byte for byte, that exact version', async () => {
      const key = 'incoming/registrations/big file+1.csv';
      const first = await multipartSource(key, 'a');
      await multipartSource(key, 'b'); // a newer version: the copy must take the one asked for
      sent = [];

      await store.copy({ bucket: 'landing', key, versionId: first.versionId }, 'lake', 'archive/r/big.csv');

      expect(sent.filter((c) => c === 'UploadPartCopy')).toHaveLength(3); // 5 + 5 + 1 MiB
      expect(sent).toContain('CompleteMultipartUpload');
      expect(sent).not.toContain('CopyObject');
      expect(await sha256Of('lake', 'archive/r/big.csv')).toBe(
        createHash('sha256').update(first.body).digest('hex'),
      );
      const head = await client.send(new HeadObjectCommand({ Bucket: 'lake', Key: 'archive/r/big.csv' }));
      expect(head.ContentLength).toBe(11 * MIB);
      expect(head.ContentType).toBe('text/csv');
      expect(head.ETag).toMatch(/-3"$/);
    });

    test('at or below the threshold one CopyObject does it', async () => {
      await store.put('landing', 'incoming/registrations/small.csv', 'id\n1\n');
      sent = [];

      await store.copy(
        { bucket: 'landing', key: 'incoming/registrations/small.csv' },
        'lake',
        'archive/s.csv',
      );

      expect(sent).toEqual(['HeadObject', 'CopyObject']);
      expect(await readObjectText(store, { bucket: 'lake', key: 'archive/s.csv' })).toBe('id\n1\n');
    });

    test('a part that fails aborts the upload: no parts left behind, no object, the error surfaces', async () => {
      const key = 'incoming/registrations/vanishing.csv';
      const src = await multipartSource(key, 'c');
      sent = [];
      // A real failure: the source version is deleted for good before part 2 is copied.
      beforePart = async (part) => {
        if (part === 2) {
          beforePart = undefined;
          await client.send(
            new DeleteObjectCommand({ Bucket: 'landing', Key: key, VersionId: src.versionId }),
          );
        }
      };
      const oneAtATime = new S3ObjectStore(s3, {
        multipartCopyThreshold: MIB,
        copyPartSize: 5 * MIB,
        copyConcurrency: 1,
      });

      await expect(
        oneAtATime.copy({ bucket: 'landing', key, versionId: src.versionId }, 'lake', 'archive/v.csv'),
      ).rejects.toThrow(/does not exist/);

      expect(sent).toContain('AbortMultipartUpload');
      expect(sent).not.toContain('CompleteMultipartUpload');
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: 'lake' }));
      expect(uploads.Uploads ?? []).toEqual([]);
      expect(await store.head({ bucket: 'lake', key: 'archive/v.csv' })).toBeUndefined();
    });

    test('part sizes stay within S3 limits for any object size', () => {
      expect(MULTIPART_COPY_THRESHOLD).toBe(5 * 1024 ** 3);
      for (const size of [5 * 1024 ** 3 + 1, 50 * 1024 ** 3, 5 * 1024 ** 4]) {
        const part = copyPartSizeFor(size);
        expect(part).toBeGreaterThanOrEqual(S3_PART_LIMITS.minBytes);
        expect(part).toBeLessThanOrEqual(S3_PART_LIMITS.maxBytes);
        expect(Math.ceil(size / part)).toBeLessThanOrEqual(S3_PART_LIMITS.maxParts);
      }
      expect(copyPartSizeFor(11 * MIB, 1)).toBe(S3_PART_LIMITS.minBytes);
      expect(copyPartSizeFor(100 * 1024 ** 4, 512 * MIB)).toBe(S3_PART_LIMITS.maxBytes);
    });
  });
});
