/**
 * The transform engine's I/O, as a port: where the staging parts come from, where DuckDB may write,
 * and how the output is published into the lake (publish lock, manifest in place, objects,
 * manifest). The engine (duckdb.ts) knows only this interface; two implementations:
 *
 * - {@link lakeFolderIo}: the lake is a local folder (the local runtime's). Staging is read in place,
 *   DuckDB writes under `<lake>/_tmp/`, objects appear by atomic renames, the lock is an O_EXCL
 *   file (transform/publish.ts). The fast path: nothing is copied.
 * - `objectStoreIo` (store-io.ts): the lake is any {@link ObjectStore} bucket (S3 in a Lambda).
 *   Staging parts are streamed to a local scratch folder, DuckDB writes there, objects are
 *   uploaded, the lock is a create-only put.
 *
 * Both publish the same object names and the same manifest for the same staging.
 */
import type { TransformManifest } from '../core/steps';
import {
  createRunTempDir,
  manifestInPlace,
  publishCuratedObjects,
  withPublishLock,
  writeManifest,
  type PublishArgs,
  type PublishResult,
} from './publish';
import { stagingFolderParts, type TransformRequest } from './request';

/** What {@link TransformIo.publishObjects} is given: the run's finished files and whose they are. */
export type PublishObjectsArgs = Omit<PublishArgs, 'lakeDir'>;

/** One run's view of its staging and its lake. Created per run; every method is called at most once. */
export interface TransformIo {
  /** Names the staging input in messages (a folder, or `<bucket>/<prefix>`). */
  readonly stagingLabel: string;
  /**
   * Lists the staging parts (`.jsonl` or `.parquet`), sorted (references for
   * {@link localStagingFiles}), and refuses staging without `_SUCCESS` or with both kinds of part
   * (TransformFailedError). Writes nothing.
   */
  listStagingParts(): Promise<readonly string[]>;
  /**
   * A fresh local folder for this run (staging copies, DuckDB's output and spill), on the same
   * file system as wherever {@link publishObjects} moves files from. The caller removes it.
   */
  createWorkDir(): Promise<string>;
  /** The local file DuckDB reads for each listed part: the file in place, or a copy in `workDir`. */
  localStagingFiles(parts: readonly string[], workDir: string): Promise<string[]>;
  /** How messages name a local staging file (its object key when it is a copy). */
  nameOfStagingFile(file: string): string;
  /**
   * Runs `publish` holding this source's publish lock, so that reading the manifest in place,
   * publishing and writing the manifest are one step per run. A lock that stays held past the
   * wait fails with TransformFailedError naming the lock and what to do.
   */
  withPublishLock<T>(publish: () => Promise<T>): Promise<T>;
  /** This source's manifest as it is now (parsed JSON), or undefined when there is none or it is unreadable. */
  manifestInPlace(dataset: string): Promise<unknown>;
  /**
   * Puts each finished file in place under its curated key (replacing this source's object there,
   * never another's), then removes this source's objects the run no longer produced.
   */
  publishObjects(args: PublishObjectsArgs): Promise<PublishResult>;
  /** Writes the manifest, whole, after every object is in place. */
  writeManifest(manifest: TransformManifest): Promise<void>;
}

/** Tuning shared by both implementations. */
export interface TransformIoOptions {
  /** How long to wait for another run of this source to finish publishing. @default 60 s */
  readonly lockWaitMs?: number;
}

/** The lake is a local folder (`request.lakeDir`), staging a folder in it or anywhere else. */
export function lakeFolderIo(
  request: Pick<TransformRequest, 'stagingDir' | 'lakeDir' | 'sourceId'>,
  options: TransformIoOptions = {},
): TransformIo {
  const { stagingDir, lakeDir, sourceId } = request;
  return {
    stagingLabel: stagingDir,
    listStagingParts: async () => stagingFolderParts(stagingDir, sourceId),
    // Inside the lake folder: the publish renames then never cross a file system.
    createWorkDir: () => createRunTempDir(lakeDir, sourceId),
    localStagingFiles: async (parts) => [...parts],
    nameOfStagingFile: (file) => file,
    withPublishLock: (publish) => withPublishLock(lakeDir, sourceId, publish, options.lockWaitMs),
    manifestInPlace: (dataset) => manifestInPlace(lakeDir, dataset, sourceId),
    publishObjects: (args) => publishCuratedObjects({ ...args, lakeDir }),
    writeManifest: async (manifest) => {
      await writeManifest(lakeDir, manifest);
    },
  };
}
