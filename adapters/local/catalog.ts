/**
 * The local catalog: what the Glue crawler and Data Catalog are on AWS, as one JSON file a person
 * can read. A "crawl" scans the lake folder's curated/<dataset>/ folders and records each table:
 * its location, its columns (from the dataset's transform plan) and the partitions that hold
 * Parquet files. The crawl runs to completion inside startCrawler (crawls take turns, and none is
 * ever seen RUNNING), so a poll right after it sees READY — unless a test holds the crawler
 * RUNNING with {@link LocalCatalog.holdCrawler}.
 *
 * ```json
 * { "tables": { "registrations": { "dataset": "registrations", "location": "curated/registrations/", ... } },
 *   "crawlers": { "serverless-etl-curated": { "state": "READY", "lastCrawl": { "status": "SUCCEEDED", ... } } } }
 * ```
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DATASET_NAME, findContract } from '../../core/contract';
import { CrawlerRunningError } from '../../core/errors';
import { lake } from '../../core/layout';
import { PartitionRegistrationError } from '../../core/errors';
import { compilePlan } from '../../core/plan';
import type {
  Catalog,
  CatalogTableInfo,
  CrawlerState,
  CrawlerStatus,
  PartitionRegistration,
  PartitionRegistry,
  PartitionToRegister,
} from '../../core/ports';
import { tableSchemaOf, type CatalogColumn } from '../../core/table-schema';

export type { CatalogColumn };

export interface CatalogTable {
  readonly dataset: string;
  readonly table: string;
  /** Prefix in the lake bucket, e.g. `curated/registrations/`. */
  readonly location: string;
  /** The file columns, typed as Glue types them (core/table-schema.ts: `bigint`, `decimal(12,2)`, ...). */
  readonly columns: readonly CatalogColumn[];
  /** None (no partition), or one key: `date` (day partitions) or `string` (month, year, text). */
  readonly partitionKeys: readonly CatalogColumn[];
  /**
   * Partition values (folders `<key>=<value>/` holding Parquet), sorted; [] with no partition.
   * A crawl sets them from the folders; RegisterPartitions adds this run's (registerPartitions).
   */
  readonly partitions: readonly string[];
  /**
   * Parquet objects the last crawl found (a table without a partition has them directly under
   * `location`); a registration raises it to at least the number of partitions (each holds one
   * object or more), so it is a lower bound between crawls. The query engine reads it as "has data".
   */
  readonly files?: number;
  readonly updatedAt: string;
}

interface CrawlerRecord {
  readonly state: CrawlerState;
  readonly lastCrawl?: {
    status: 'SUCCEEDED' | 'CANCELLED' | 'FAILED';
    startTime: string;
    errorMessage?: string;
  };
}

export interface CatalogFile {
  readonly tables: Record<string, CatalogTable>;
  readonly crawlers: Record<string, CrawlerRecord>;
}

export interface LocalCatalogOptions {
  /** The JSON catalog file (created on first crawl). */
  readonly catalogFile: string;
  /** Folder holding the lake bucket's keys (LocalObjectStore: `<rootDir>/<lakeBucket>`). */
  readonly lakeDir: string;
  /** Folder of dataset contracts. @default the repository's schemas/ */
  readonly schemasDir?: string;
}

/** Crawls in progress in this process, by catalog file: the next one starts when they end. */
const turns = new Map<string, Promise<unknown>>();

function inTurn<T>(key: string, job: () => Promise<T>): Promise<T> {
  const previous = turns.get(key) ?? Promise.resolve();
  const mine = previous.catch(() => {}).then(job);
  const settled = mine.catch(() => {});
  turns.set(key, settled);
  void settled.then(() => {
    if (turns.get(key) === settled) turns.delete(key);
  });
  return mine;
}

/** @example new LocalCatalog({ catalogFile: '.etl/catalog.json', lakeDir: '.etl/lake/lake' }) */
export class LocalCatalog implements Catalog, PartitionRegistry {
  constructor(private readonly options: LocalCatalogOptions) {}

  async startCrawler(name: string): Promise<void> {
    // A local crawl is quick and atomic: it is never observable as RUNNING by another run (only a
    // test's holdCrawler makes it so). Crawls of one catalog file take turns, so each scans the
    // lake after the previous one wrote, and a run's own crawl always sees the output it just
    // published. (Were crawls observable as RUNNING, a run would join a crawl whose scan predated
    // its output, and pass PollCrawl's start-time check, which allows for AWS's seconds of
    // crawler start-up, without its table being crawled.)
    return inTurn(this.options.catalogFile, async () => {
      const before = await this.read();
      const state = before.crawlers[name]?.state ?? 'READY';
      if (state !== 'READY') throw new CrawlerRunningError(`crawler ${name} is ${state}`);
      const startTime = new Date().toISOString();
      let tables: Record<string, CatalogTable>;
      try {
        tables = await this.crawl();
      } catch (e) {
        const now = await this.read();
        await this.write({
          ...now,
          crawlers: {
            ...now.crawlers,
            [name]: {
              state: 'READY',
              lastCrawl: { status: 'FAILED', startTime, errorMessage: (e as Error).message },
            },
          },
        });
        return;
      }
      const now = await this.read();
      await this.write({
        tables: { ...now.tables, ...tables },
        crawlers: {
          ...now.crawlers,
          [name]: { state: 'READY', lastCrawl: { status: 'SUCCEEDED', startTime } },
        },
      });
    });
  }

  async getCrawler(name: string): Promise<CrawlerStatus> {
    const record = (await this.read()).crawlers[name];
    if (!record) return { state: 'READY' };
    return {
      state: record.state,
      ...(record.lastCrawl && {
        lastCrawl: {
          status: record.lastCrawl.status,
          startTime: new Date(record.lastCrawl.startTime),
          ...(record.lastCrawl.errorMessage !== undefined && { errorMessage: record.lastCrawl.errorMessage }),
        },
      }),
    };
  }

  /** The table as the last crawl recorded it (one local database: `_database` is ignored). */
  async getTable(_database: string, table: string): Promise<CatalogTableInfo | undefined> {
    const found = (await this.read()).tables[table];
    if (!found) return undefined;
    return { columns: found.columns, partitionKeys: found.partitionKeys, location: found.location };
  }

  /**
   * RegisterPartitions' local half, what BatchCreatePartition is on AWS: adds the values to the
   * table's partitions (a value already there counts as existing). Takes its turn with crawls of
   * the same catalog file, so neither overwrites the other's write.
   */
  async registerPartitions(
    _database: string,
    table: CatalogTableInfo & { readonly name: string },
    partitions: readonly PartitionToRegister[],
  ): Promise<PartitionRegistration> {
    return inTurn(this.options.catalogFile, async () => {
      const now = await this.read();
      const current = now.tables[table.name];
      if (!current)
        throw new PartitionRegistrationError(
          `${this.options.catalogFile}: no table "${table.name}" to add partitions to. Fix: run a crawl (etl redrive resumes at RegisterPartitions, which asks for one when the table is missing).`,
        );
      const known = new Set(current.partitions);
      const values = [...new Set(partitions.map((p) => p.value))];
      const added = values.filter((v) => !known.has(v));
      if (added.length === 0) return { created: 0, existing: values.length };
      const all = [...known, ...added].sort();
      await this.write({
        ...now,
        tables: {
          ...now.tables,
          [table.name]: {
            ...current,
            partitions: all,
            files: Math.max(current.files ?? 0, all.length),
            updatedAt: new Date().toISOString(),
          },
        },
      });
      return { created: added.length, existing: values.length - added.length };
    });
  }

  /** The tables the last crawls found. */
  async tables(): Promise<CatalogTable[]> {
    return Object.values((await this.read()).tables);
  }

  /** Test and demo aid: puts the crawler in `state` as if another crawl were in progress. */
  async holdCrawler(name: string, state: CrawlerState = 'RUNNING'): Promise<void> {
    const now = await this.read();
    await this.write({ ...now, crawlers: { ...now.crawlers, [name]: { ...now.crawlers[name], state } } });
  }

  private async crawl(): Promise<Record<string, CatalogTable>> {
    const curated = path.join(this.options.lakeDir, 'curated');
    const entries = await fs.readdir(curated, { withFileTypes: true }).catch(() => []);
    const tables: Record<string, CatalogTable> = {};
    for (const entry of entries) {
      if (!entry.isDirectory() || !DATASET_NAME.test(entry.name)) continue;
      const contract = findContract(entry.name, this.options.schemasDir);
      if (!contract) continue; // like a crawler exclusion: folders without a contract are not tables
      const plan = compilePlan(contract);
      const tableDir = path.join(curated, entry.name);
      const partitionPrefix = plan.partition ? `${plan.partition.name}=` : undefined;
      const partitions: string[] = [];
      let files = 0;
      for (const part of await fs.readdir(tableDir, { withFileTypes: true })) {
        if (part.isFile() && part.name.endsWith('.parquet') && !partitionPrefix) files += 1;
        if (!partitionPrefix || !part.isDirectory() || !part.name.startsWith(partitionPrefix)) continue;
        const found = (await fs.readdir(path.join(tableDir, part.name))).filter((f) =>
          f.endsWith('.parquet'),
        );
        if (found.length > 0) partitions.push(part.name.slice(partitionPrefix.length));
        files += found.length;
      }
      // Typed as the Glue table is (core/table-schema.ts), so RegisterPartitions compares alike.
      const schema = tableSchemaOf(plan);
      tables[plan.table] = {
        dataset: contract.dataset,
        table: plan.table,
        location: lake.curatedTablePrefix(contract.dataset),
        columns: schema.columns,
        partitionKeys: schema.partitionKeys,
        partitions: partitions.sort(),
        files,
        updatedAt: new Date().toISOString(),
      };
    }
    return tables;
  }

  private async read(): Promise<CatalogFile> {
    try {
      return JSON.parse(await fs.readFile(this.options.catalogFile, 'utf8')) as CatalogFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { tables: {}, crawlers: {} };
      throw e;
    }
  }

  private async write(file: CatalogFile): Promise<void> {
    await fs.mkdir(path.dirname(this.options.catalogFile), { recursive: true });
    const tmp = `${this.options.catalogFile}.${randomUUID()}.tmp`;
    await fs.writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`);
    await fs.rename(tmp, this.options.catalogFile);
  }
}
