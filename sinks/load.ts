/**
 * What both sink steps share, SDK-free: the contract's sink settings and output columns as a
 * {@link SinkTable}, and this run's version of the source file as a {@link SinkRun} (read from the
 * transform's manifest, the same one Verify checked).
 */
import type { Readable } from 'node:stream';
import { findContract, type DatasetContract } from '../core/contract';
import { SinkLoadFailedError } from '../core/errors';
import { lake } from '../core/layout';
import { compilePlan } from '../core/plan';
import type { ObjectStore } from '../core/ports';
import type { TransformManifest } from '../core/steps';
import type { DynamoDbSinkConfig, RedshiftSinkConfig, SinkType } from '../core/sinks';
import { sinkRunOf, type SinkColumnType, type SinkRun, type SinkTable } from './table';

/** A sink state's Parameters { runId, dataset, sourceId, versionTag, lakeBucket }. */
export interface SinkStepInput {
  readonly runId: string;
  readonly dataset: string;
  readonly sourceId: string;
  readonly versionTag: string;
  readonly lakeBucket: string;
}

/** Which sinks a dataset declares (Verify returns it; the state machine's Choices read it). */
export interface SinkFlags {
  readonly dynamodb: boolean;
  readonly redshift: boolean;
}

export function sinkFlagsOf(contract: DatasetContract): SinkFlags {
  return {
    dynamodb: contract.sinks.some((s) => s.type === 'dynamodb'),
    redshift: contract.sinks.some((s) => s.type === 'redshift'),
  };
}

/** The sink view of a contract: output columns in contract order, the key, a folder-only partition column. */
export function sinkTableOf(contract: DatasetContract): SinkTable {
  const plan = compilePlan(contract);
  const p = plan.partition;
  const folderColumn = p && !p.keepColumn ? p.source : null;
  if (p && folderColumn !== null && p.name !== p.source) {
    throw new SinkLoadFailedError(
      `${contract.file}: partition.name "${p.name}" differs from its column "${p.source}", whose values live only in the folder names; the sinks read such a column back from the folder by the column's name. Fix: remove partition.name, or remove the sinks.`,
    );
  }
  return {
    dataset: contract.dataset,
    columns: plan.columns.map((c) => ({
      name: c.name,
      type: c.type as SinkColumnType,
      ...(c.precision !== undefined && { precision: c.precision }),
      ...(c.scale !== undefined && { scale: c.scale }),
    })),
    key: plan.columns.filter((c) => contract.primaryKey.includes(c.source)).map((c) => c.name),
    folderColumn,
  };
}

export interface SinkJob<C> {
  readonly contract: DatasetContract;
  readonly config: C;
  readonly table: SinkTable;
  /** null: the manifest in place is another version's (a newer run owns the output and loads it). */
  readonly run: SinkRun | null;
}

async function readManifest(store: ObjectStore, bucket: string, key: string): Promise<TransformManifest> {
  if (!(await store.head({ bucket, key })))
    throw new SinkLoadFailedError(
      `s3://${bucket}/${key} does not exist: the transform wrote no manifest. Fix: redrive the run from Verify.`,
    );
  const chunks: Buffer[] = [];
  for await (const chunk of (await store.get({ bucket, key })) as Readable)
    chunks.push(Buffer.from(chunk as Buffer));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as TransformManifest;
}

/** The contract's sink of `type`, the table and this run's version, for one sink step. */
export async function sinkJobOf<T extends SinkType>(
  type: T,
  input: SinkStepInput,
  deps: { readonly store: ObjectStore; readonly schemasDir?: string | undefined },
): Promise<SinkJob<T extends 'dynamodb' ? DynamoDbSinkConfig : RedshiftSinkConfig>> {
  const contract = findContract(input.dataset, deps.schemasDir);
  const config = contract?.sinks.find((s) => s.type === type);
  if (!contract || !config) {
    throw new SinkLoadFailedError(
      `${input.dataset}: the contract declares no ${type} sink any more. Fix: restore the sink in the contract and redrive, or let this run end (nothing else to do).`,
    );
  }
  const manifest = await readManifest(
    deps.store,
    input.lakeBucket,
    lake.manifest(input.dataset, input.sourceId),
  );
  return {
    contract,
    config: config as T extends 'dynamodb' ? DynamoDbSinkConfig : RedshiftSinkConfig,
    table: sinkTableOf(contract),
    run: manifest.versionTag === input.versionTag ? sinkRunOf(manifest, input.runId, input.lakeBucket) : null,
  };
}
