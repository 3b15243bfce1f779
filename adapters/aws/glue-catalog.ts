/**
 * The Glue crawler behind the Catalog port, and the Data Catalog's tables behind the
 * PartitionRegistry port. "Already running" is Glue's CrawlerRunningException, mapped to
 * CrawlerRunningError (the name the ASL retries); throttling maps to TransientDependencyError.
 *
 * Partitions are added with BatchCreatePartition, at most {@link PARTITIONS_PER_BATCH} per call
 * (Glue's limit), each with the table's own storage descriptor (Parquet SerDe, input/output
 * formats, columns) located at `<table location><key>=<value>/`, as the crawler would add them
 * (`InheritFromTable`). An entry Glue answers AlreadyExistsException for counts as existing.
 */
import {
  BatchCreatePartitionCommand,
  GetCrawlerCommand,
  GetTableCommand,
  GlueClient,
  StartCrawlerCommand,
  type PartitionInput,
  type StorageDescriptor,
} from '@aws-sdk/client-glue';
import { CrawlerRunningError, PartitionRegistrationError } from '../../core/errors';
import type {
  Catalog,
  CatalogTableInfo,
  CrawlerState,
  CrawlerStatus,
  LastCrawl,
  PartitionRegistration,
  PartitionRegistry,
  PartitionToRegister,
} from '../../core/ports';
import { isTransient, rethrowTransient } from './transient';

/** BatchCreatePartition takes at most 100 PartitionInputs per call. */
export const PARTITIONS_PER_BATCH = 100;

/** Per-entry error codes worth a retry of the state (the SDK already retried the call itself). */
const TRANSIENT_ENTRY_ERRORS = new Set([
  'ThrottlingException',
  'InternalServiceException',
  'OperationTimeoutException',
  'ConcurrentModificationException',
  'ResourceNumberLimitExceededException',
]);

/** @example new GlueCatalog(new GlueClient({})) */
export class GlueCatalog implements Catalog, PartitionRegistry {
  /** The storage descriptor of each table read by getTable, for the partitions registered next. */
  private readonly descriptors = new Map<string, StorageDescriptor>();

  constructor(private readonly client: GlueClient) {}

  async getTable(database: string, table: string): Promise<CatalogTableInfo | undefined> {
    let found;
    try {
      found = (await this.client.send(new GetTableCommand({ DatabaseName: database, Name: table }))).Table;
    } catch (e) {
      if ((e as Error).name === 'EntityNotFoundException') return undefined;
      return rethrowTransient(e, `glue: get table ${database}.${table}`);
    }
    if (!found) return undefined;
    const sd = found.StorageDescriptor ?? {};
    this.descriptors.set(`${database}.${table}`, sd);
    const column = (c: { Name?: string; Type?: string }) => ({ name: c.Name ?? '', type: c.Type ?? '' });
    return {
      columns: (sd.Columns ?? []).map(column),
      partitionKeys: (found.PartitionKeys ?? []).map(column),
      location: sd.Location ?? '',
    };
  }

  async registerPartitions(
    database: string,
    table: CatalogTableInfo & { readonly name: string },
    partitions: readonly PartitionToRegister[],
  ): Promise<PartitionRegistration> {
    const key = table.partitionKeys[0]?.name;
    if (table.partitionKeys.length !== 1 || key === undefined)
      throw new PartitionRegistrationError(
        `glue: table ${database}.${table.name} has ${table.partitionKeys.length} partition keys; registration handles exactly one`,
      );
    let sd = this.descriptors.get(`${database}.${table.name}`);
    if (!sd) {
      await this.getTable(database, table.name);
      sd = this.descriptors.get(`${database}.${table.name}`) ?? {};
    }
    const base = table.location.endsWith('/') ? table.location : `${table.location}/`;
    const inputs: PartitionInput[] = [...new Set(partitions.map((p) => p.value))].sort().map((value) => ({
      Values: [value],
      StorageDescriptor: { ...sd, Location: `${base}${key}=${value}/` },
    }));
    let created = 0;
    let existing = 0;
    for (let i = 0; i < inputs.length; i += PARTITIONS_PER_BATCH) {
      const batch = inputs.slice(i, i + PARTITIONS_PER_BATCH);
      let errors;
      try {
        ({ Errors: errors } = await this.client.send(
          new BatchCreatePartitionCommand({
            DatabaseName: database,
            TableName: table.name,
            PartitionInputList: batch,
          }),
        ));
      } catch (e) {
        if (isTransient(e)) rethrowTransient(e, `glue: add partitions to ${database}.${table.name}`);
        throw new PartitionRegistrationError(
          `glue: add partitions to ${database}.${table.name}: ${(e as Error).name}: ${(e as Error).message}. Fix: check the table exists and the function may call glue:BatchCreatePartition on it, then redrive.`,
        );
      }
      const exists = (errors ?? []).filter((e) => e.ErrorDetail?.ErrorCode === 'AlreadyExistsException');
      const transient = (errors ?? []).filter((e) =>
        TRANSIENT_ENTRY_ERRORS.has(e.ErrorDetail?.ErrorCode ?? ''),
      );
      const other = (errors ?? []).filter((e) => !exists.includes(e) && !transient.includes(e));
      const show = (es: typeof other) =>
        es
          .map((e) =>
            `${key}=${(e.PartitionValues ?? []).join(',')}: ${e.ErrorDetail?.ErrorCode ?? 'Error'} ${e.ErrorDetail?.ErrorMessage ?? ''}`.trim(),
          )
          .join('; ');
      if (other.length > 0)
        throw new PartitionRegistrationError(
          `glue: ${database}.${table.name} refused ${other.length} of ${batch.length} partitions: ${show(other)}. Fix: correct the cause named, then redrive (partitions already added count as existing).`,
        );
      if (transient.length > 0)
        rethrowTransient(
          { name: 'ThrottlingException', message: show(transient) },
          `glue: add partitions to ${database}.${table.name}`,
        );
      existing += exists.length;
      created += batch.length - exists.length;
    }
    return { created, existing };
  }

  async startCrawler(name: string): Promise<void> {
    try {
      await this.client.send(new StartCrawlerCommand({ Name: name }));
    } catch (e) {
      if ((e as Error).name === 'CrawlerRunningException') {
        throw new CrawlerRunningError(`crawler ${name} is already running: ${(e as Error).message}`);
      }
      rethrowTransient(e, `glue: start crawler ${name}`);
    }
  }

  async getCrawler(name: string): Promise<CrawlerStatus> {
    try {
      const { Crawler } = await this.client.send(new GetCrawlerCommand({ Name: name }));
      const last = Crawler?.LastCrawl;
      const lastCrawl: LastCrawl | undefined =
        last?.Status === undefined
          ? undefined
          : {
              status: last.Status,
              ...(last.StartTime !== undefined && { startTime: last.StartTime }),
              ...(last.ErrorMessage !== undefined && { errorMessage: last.ErrorMessage }),
            };
      return { state: (Crawler?.State ?? 'READY') as CrawlerState, ...(lastCrawl && { lastCrawl }) };
    } catch (e) {
      return rethrowTransient(e, `glue: get crawler ${name}`);
    }
  }
}
