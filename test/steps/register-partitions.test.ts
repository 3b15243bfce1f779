/**
 * RegisterPartitions (issue 12, "no crawl per file"): the AWS adapter against moto's Glue and S3
 * on loopback — GetTable, BatchCreatePartition in chunks of 100, AlreadyExists counted as existing
 * on a rerun, the partition's storage descriptor equal to the table's (Parquet SerDe, location
 * under the table's prefix) — and the per-entry error handling against a scripted client.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateDatabaseCommand,
  CreateTableCommand,
  GetPartitionsCommand,
  type GlueClient,
} from '@aws-sdk/client-glue';
import { GlueCatalog, PARTITIONS_PER_BATCH } from '../../adapters/aws/glue-catalog';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { findContract } from '../../core/contract';
import { logger } from '../../core/instrumentation';
import { lake } from '../../core/layout';
import { compilePlan } from '../../core/plan';
import { tableSchemaOf } from '../../core/table-schema';
import { registerPartitions } from '../../functions/register-partitions/register-partitions';
import { createRegisterPartitionsStep } from '../../functions/register-partitions/step';
import { motoGlueClient, resetMoto, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

const DATABASE = 'serverless_etl_lake';
const LAKE = 'serverless-etl-lake-000000000000';
const PARQUET_SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe';
const plan = compilePlan(findContract('registrations')!);
const schema = tableSchemaOf(plan);
/** The contract's partition key (the lake's folders are `<key>=<value>/`). */
const KEY = schema.partitionKeys[0]!.name;
const input = {
  runId: 'run-1',
  dataset: 'registrations',
  sourceId: 'src-1',
  lakeBucket: LAKE,
  database: DATABASE,
};

/** A manifest naming `n` day partitions from 2024-01-01 on. */
function manifestWith(days: string[]) {
  return {
    dataset: 'registrations',
    sourceId: 'src-1',
    versionTag: 'v-1',
    engine: 'duckdb',
    rowsIn: days.length,
    rowsOut: days.length,
    duplicatesDropped: 0,
    exactDuplicates: 0,
    partitions: days,
    objects: days.map((d) => lake.curatedObject('registrations', KEY, d, 'src-1')),
    startedAt: '2026-11-22T08:00:00.000Z',
    finishedAt: '2026-11-22T08:00:01.000Z',
  };
}
const daysFrom = (n: number) =>
  Array.from({ length: n }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10));

const run = requirePythonSide('moto', 'RegisterPartitions against moto (Glue, S3)');
(run ? describe : describe.skip)('RegisterPartitions against moto', () => {
  let moto: MotoServer;
  let glue: GlueClient;
  let store: S3ObjectStore;
  let batchCalls: number;
  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    moto = await startMoto();
  });
  afterAll(async () => moto?.stop());
  beforeEach(async () => {
    await resetMoto(moto);
    glue = motoGlueClient(moto);
    batchCalls = 0;
    glue.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'BatchCreatePartitionCommand') batchCalls += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countBatches' },
    );
    const s3 = new S3Client(moto.clientConfig);
    await s3.send(new CreateBucketCommand({ Bucket: LAKE }));
    store = new S3ObjectStore(s3);
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: DATABASE } }));
  });

  /** The table as the stack defines it (infra/constructs/lake-catalog.ts), optionally with other columns. */
  async function createTable(columns = schema.columns): Promise<void> {
    await glue.send(
      new CreateTableCommand({
        DatabaseName: DATABASE,
        TableInput: {
          Name: plan.table,
          TableType: 'EXTERNAL_TABLE',
          Parameters: { classification: 'parquet', EXTERNAL: 'TRUE' },
          PartitionKeys: schema.partitionKeys.map((k) => ({ Name: k.name, Type: k.type })),
          StorageDescriptor: {
            Location: `s3://${LAKE}/${lake.curatedTablePrefix('registrations')}`,
            InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            SerdeInfo: { SerializationLibrary: PARQUET_SERDE },
            Columns: columns.map((c) => ({ Name: c.name, Type: c.type })),
          },
        },
      }),
    );
  }
  const putManifest = (days: string[]) =>
    store.put(LAKE, lake.manifest('registrations', 'src-1'), JSON.stringify(manifestWith(days)));

  test("same schema: this run's partitions are added like the table (Parquet SerDe, under its prefix); a rerun finds them existing", async () => {
    await createTable();
    await putManifest(['2024-07-14', '2024-07-15']);
    const step = createRegisterPartitionsStep({ store, registry: new GlueCatalog(glue) });

    const first = await step(input);
    const again = await step(input);

    expect(first).toEqual({
      table: 'registrations',
      schemaChanged: false,
      registered: 2,
      existing: 0,
      crawl: 'skipped',
    });
    expect(again).toMatchObject({ schemaChanged: false, registered: 0, existing: 2, crawl: 'skipped' });
    const { Partitions } = await glue.send(
      new GetPartitionsCommand({ DatabaseName: DATABASE, TableName: plan.table }),
    );
    expect(
      Partitions!
        .map((p) => [
          p.Values,
          p.StorageDescriptor?.Location,
          p.StorageDescriptor?.SerdeInfo?.SerializationLibrary,
          p.StorageDescriptor?.InputFormat,
          p.StorageDescriptor?.Columns?.length,
        ])
        .sort(),
    ).toEqual([
      [
        ['2024-07-14'],
        `s3://${LAKE}/curated/registrations/${KEY}=2024-07-14/`,
        PARQUET_SERDE,
        'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        schema.columns.length,
      ],
      [
        ['2024-07-15'],
        `s3://${LAKE}/curated/registrations/${KEY}=2024-07-15/`,
        PARQUET_SERDE,
        'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        schema.columns.length,
      ],
    ]);
  });

  test('250 partitions go in chunks of 100 (3 calls); a rerun with 10 new ones counts 250 existing', async () => {
    await createTable();
    await putManifest(daysFrom(250));
    const registry = new GlueCatalog(glue);

    const first = await registerPartitions(input, { store, registry });
    const callsFirst = batchCalls;
    await putManifest(daysFrom(260));
    const second = await registerPartitions(input, { store, registry });

    expect(PARTITIONS_PER_BATCH).toBe(100);
    expect([first.registered, first.existing, callsFirst]).toEqual([250, 0, 3]);
    expect([second.registered, second.existing, batchCalls - callsFirst]).toEqual([10, 250, 3]);
  });

  test('no table, or a table whose schema differs: schemaChanged (the crawler runs), nothing registered', async () => {
    await putManifest(['2024-07-14']);
    const registry = new GlueCatalog(glue);

    const missing = await registerPartitions(input, { store, registry });
    await createTable([...schema.columns.slice(0, -1), { name: 'venue', type: 'string' }]);
    const changed = await registerPartitions(input, { store, registry });

    expect(missing).toMatchObject({ schemaChanged: true, crawl: 'required', registered: 0 });
    expect(missing.reason).toMatch(/serverless_etl_lake\.registrations is not in the catalog/);
    expect(changed).toMatchObject({ schemaChanged: true, crawl: 'required', registered: 0 });
    expect(changed.reason).toMatch(/new column\(s\) .*; column\(s\) no longer written venue/);
    expect(batchCalls).toBe(0);
  });

  test('a missing manifest is an error naming the object and the fix', async () => {
    await createTable();
    await expect(registerPartitions(input, { store, registry: new GlueCatalog(glue) })).rejects.toThrow(
      /manifests\/registrations\/src-1\.json does not exist.*redrive/,
    );
  });
});

describe('GlueCatalog.registerPartitions: per-entry errors', () => {
  const table = {
    name: 'registrations',
    columns: schema.columns,
    partitionKeys: schema.partitionKeys,
    location: `s3://${LAKE}/curated/registrations/`,
  };
  /** A client answering GetTable with the table and BatchCreatePartition with `errors(values)`. */
  function scripted(errors: (values: string[]) => unknown[]): GlueClient {
    return {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        if (command.constructor.name === 'GetTableCommand')
          return {
            Table: { StorageDescriptor: { Location: table.location, Columns: [] }, PartitionKeys: [] },
          };
        const list = command.input.PartitionInputList as { Values: string[] }[];
        return { Errors: errors(list.map((p) => p.Values[0]!)) };
      },
    } as unknown as GlueClient;
  }
  const entry = (value: string, code: string) => ({
    PartitionValues: [value],
    ErrorDetail: { ErrorCode: code, ErrorMessage: `${code} for ${value}` },
  });

  test('AlreadyExists entries count as existing', async () => {
    const catalog = new GlueCatalog(scripted((vs) => [entry(vs[0]!, 'AlreadyExistsException')]));
    await expect(
      catalog.registerPartitions(DATABASE, table, [{ value: '2024-01-01' }, { value: '2024-01-02' }]),
    ).resolves.toEqual({ created: 1, existing: 1 });
  });

  test('a throttled entry is TransientDependencyError (the state retries)', async () => {
    const catalog = new GlueCatalog(scripted((vs) => [entry(vs[1]!, 'ThrottlingException')]));
    await expect(
      catalog.registerPartitions(DATABASE, table, [{ value: '2024-01-01' }, { value: '2024-01-02' }]),
    ).rejects.toMatchObject({
      name: 'TransientDependencyError',
      message: expect.stringContaining('2024-01-02'),
    });
  });

  test('any other refusal is PartitionRegistrationError naming the partition, the code and the fix', async () => {
    const catalog = new GlueCatalog(
      scripted((vs) => [entry(vs[0]!, 'AlreadyExistsException'), entry(vs[1]!, 'InvalidInputException')]),
    );
    await expect(
      catalog.registerPartitions(DATABASE, table, [{ value: '2024-01-01' }, { value: '2024-01-02' }]),
    ).rejects.toMatchObject({
      name: 'PartitionRegistrationError',
      message: expect.stringMatching(new RegExp(`${KEY}=2024-01-02: InvalidInputException.*Fix: .*redrive`)),
    });
  });
});
