/**
 * RegisterPartitions: make this run's output queryable without a crawl. It reads the manifest the
 * transform wrote (the partitions this source file's objects are in), compares the table in the
 * catalog with this run's output schema (the contract's plan: file columns and types, partition
 * key), and then
 *  - table missing, or its schema different → `schemaChanged: true`: the state machine runs the
 *    crawler (StartCrawl → PollCrawl), as every run did before;
 *  - otherwise → adds this run's partitions to the table (Glue BatchCreatePartition; the local
 *    catalog file), `schemaChanged: false`, and the run skips the crawl.
 *
 * Idempotent: a partition that exists already (a rerun, another file of the same day) counts as
 * existing. Why not partition projection: see statemachines/README.md ("Partitions without a crawl").
 */
import type { Readable } from 'node:stream';
import { findContract } from '../../core/contract';
import { lake } from '../../core/layout';
import { compilePlan } from '../../core/plan';
import type { ObjectStore, PartitionRegistry } from '../../core/ports';
import type { TransformManifest } from '../../core/steps';
import { schemaDifference, tableSchemaOf } from '../../core/table-schema';

/** RegisterPartitions: Parameters { runId, dataset, sourceId, lakeBucket, database }. */
export interface RegisterPartitionsInput {
  readonly runId: string;
  readonly dataset: string;
  readonly sourceId: string;
  readonly lakeBucket: string;
  /** The Glue database of the curated tables. */
  readonly database: string;
}

/** Kept at $.partitions; the SchemaChanged Choice reads `schemaChanged`. */
export interface RegisterPartitionsResult {
  readonly table: string;
  /** true: no table, or a different schema in the catalog; the crawler runs (crawl: 'required'). */
  readonly schemaChanged: boolean;
  /** Why the crawl is required, in words (schemaChanged only). */
  readonly reason?: string;
  /** Partitions this run created in the catalog. */
  readonly registered: number;
  /** This run's partitions that were in the catalog already. */
  readonly existing: number;
  /** `skipped`: registered directly; `required`: the state machine goes on to StartCrawl. */
  readonly crawl: 'skipped' | 'required';
}

export interface RegisterPartitionsDeps {
  readonly store: ObjectStore;
  readonly registry: PartitionRegistry;
  /** Folder of dataset contracts. @default the repository's schemas/ */
  readonly schemasDir?: string;
}

async function readManifest(store: ObjectStore, bucket: string, key: string): Promise<TransformManifest> {
  if (!(await store.head({ bucket, key })))
    throw new Error(
      `s3://${bucket}/${key} does not exist: the transform wrote no manifest, so there are no partitions to register. Fix: look at the Transform state's job run, then redrive the execution.`,
    );
  const chunks: Buffer[] = [];
  for await (const chunk of (await store.get({ bucket, key })) as Readable)
    chunks.push(Buffer.from(chunk as Buffer));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as TransformManifest;
}

export async function registerPartitions(
  input: RegisterPartitionsInput,
  deps: RegisterPartitionsDeps,
): Promise<RegisterPartitionsResult> {
  const contract = findContract(input.dataset, deps.schemasDir);
  if (!contract)
    throw new Error(
      `no contract for dataset "${input.dataset}" (schemas/${input.dataset}.schema.json): the table's schema is unknown. Fix: restore the contract, then redrive the execution.`,
    );
  const plan = compilePlan(contract);
  const manifestKey = lake.manifest(input.dataset, input.sourceId);
  const manifest = await readManifest(deps.store, input.lakeBucket, manifestKey);
  const table = await deps.registry.getTable(input.database, plan.table);
  const crawl = (reason: string): RegisterPartitionsResult => ({
    table: plan.table,
    schemaChanged: true,
    reason,
    registered: 0,
    existing: 0,
    crawl: 'required',
  });
  if (!table) return crawl(`table ${input.database}.${plan.table} is not in the catalog`);
  const difference = schemaDifference(tableSchemaOf(plan), table);
  if (difference) return crawl(`table ${input.database}.${plan.table}: ${difference}`);
  // No partition key: the objects sit directly under the table's location; nothing to add.
  if (table.partitionKeys.length === 0 || manifest.partitions.length === 0)
    return { table: plan.table, schemaChanged: false, registered: 0, existing: 0, crawl: 'skipped' };
  const { created, existing } = await deps.registry.registerPartitions(
    input.database,
    { ...table, name: plan.table },
    manifest.partitions.map((value) => ({ value })),
  );
  return { table: plan.table, schemaChanged: false, registered: created, existing, crawl: 'skipped' };
}
