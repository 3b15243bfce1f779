/**
 * The SNS, Glue crawler and Athena adapters against a moto server on loopback: real SDK calls,
 * real protocol, no AWS. The verify step also runs end to end on the AWS wiring (S3 manifest +
 * Athena), with moto's canned Athena results standing in for the table.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AthenaClient, GetQueryExecutionCommand, ListQueryExecutionsCommand } from '@aws-sdk/client-athena';
import { CreateCrawlerCommand, GlueClient } from '@aws-sdk/client-glue';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { AthenaQueryEngine, athenaLiteral } from '../../adapters/aws/athena-query-engine';
import { GlueCatalog } from '../../adapters/aws/glue-catalog';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store';
import { SnsNotifier } from '../../adapters/aws/sns-notifier';
import { logger } from '../../core/instrumentation';
import { lake } from '../../core/layout';
import { pollCrawl } from '../../functions/poll-crawl/poll-crawl';
import { startCrawl } from '../../functions/start-crawl/start-crawl';
import { verifyOutput } from '../../functions/verify/verify';
import { resetMoto, startMoto, type MotoServer } from '../support/moto';
import { requirePythonSide } from '../support/python';

const run = requirePythonSide('moto', 'AWS adapters (SNS, Glue, Athena)');
(run ? describe : describe.skip)('AWS adapters against moto', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    moto = await startMoto();
  });
  afterAll(async () => moto?.stop());
  afterEach(async () => resetMoto(moto));

  /**
   * moto writes Glue timestamps as ISO strings where AWS's JSON protocol sends epoch seconds, and
   * the SDK refuses them; rewrite them in the raw response before the SDK deserialises it.
   */
  function glueClient(): GlueClient {
    const glue = new GlueClient(moto.clientConfig);
    glue.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const response = out.response as { body?: AsyncIterable<Uint8Array> | Uint8Array };
        if (response.body && Symbol.asyncIterator in response.body) {
          const chunks: Buffer[] = [];
          for await (const c of response.body) chunks.push(Buffer.from(c));
          const text = Buffer.concat(chunks)
            .toString('utf8')
            .replace(/"(\d{4}-\d{2}-\d{2}T[0-9:.]+(?:[+-]\d{2}:\d{2}|Z)?)"/g, (_m, iso: string) =>
              String(Date.parse(/[Z+-]\d{2}:?\d{2}$|Z$/.test(iso) ? iso : `${iso}Z`) / 1000),
            );
          response.body = new TextEncoder().encode(text);
        }
        return out;
      },
      { step: 'deserialize', priority: 'low', name: 'motoGlueTimestamps' },
    );
    return glue;
  }

  /** Queues canned Athena results (moto executes no SQL): one result per query, in order. */
  async function cannedAthena(results: { header: string[]; rows: (string | null)[][] }[]): Promise<void> {
    const res = await fetch(`${moto.endpoint}/moto-api/static/athena/query-results`, {
      method: 'POST',
      body: JSON.stringify({
        region: 'us-east-1',
        results: results.map(({ header, rows }) => ({
          rows: [header, ...rows].map((r) => ({
            Data: r.map((v) => (v === null ? {} : { VarCharValue: v })),
          })),
          column_info: header.map((name) => ({ Name: name, Label: name, Type: 'varchar' })),
        })),
      }),
    });
    expect(res.status).toBe(201);
  }

  describe('SnsNotifier', () => {
    let server: Server;
    const received: Record<string, unknown>[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          received.push(JSON.parse(body) as Record<string, unknown>);
          res.end('ok');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    test('publishes subject, message and attributes to the topic; a subscriber receives them', async () => {
      const sns = new SNSClient(moto.clientConfig);
      const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'serverless-etl-notices' }));
      const port = (server.address() as AddressInfo).port;
      await sns.send(
        new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: `http://127.0.0.1:${port}/` }),
      );

      const { messageId } = await new SnsNotifier(sns, TopicArn!).publish({
        subject: 'serverless-etl REJECTED: HEADER_MISMATCH',
        message: JSON.stringify({ status: 'REJECTED', reason: 'HEADER_MISMATCH' }),
        attributes: { status: 'REJECTED' },
      });

      const delivered = received.find((m) => m.Type === 'Notification');
      expect(delivered).toMatchObject({
        MessageId: messageId,
        Subject: 'serverless-etl REJECTED: HEADER_MISMATCH',
        Message: JSON.stringify({ status: 'REJECTED', reason: 'HEADER_MISMATCH' }),
      });
    });

    test('a subject SNS would refuse is refused before the call, by name', async () => {
      const notifier = new SnsNotifier(
        new SNSClient(moto.clientConfig),
        'arn:aws:sns:us-east-1:123456789012:t',
      );
      await expect(notifier.publish({ subject: 'line\nbreak', message: 'x' })).rejects.toThrow(
        /printable ASCII/,
      );
    });
  });

  describe('GlueCatalog', () => {
    const base = { runId: 'run-1', dataset: 'registrations', crawlerName: 'serverless-etl-curated' };

    test('start; a second start while running is CrawlerRunningError at the port and joined by the step; polling waits', async () => {
      const glue = glueClient();
      await glue.send(
        new CreateCrawlerCommand({
          Name: base.crawlerName,
          Role: 'arn:aws:iam::123456789012:role/crawler',
          DatabaseName: 'serverless_etl',
          Targets: { S3Targets: [{ Path: 's3://serverless-etl-lake/curated/' }] },
        }),
      );
      const catalog = new GlueCatalog(glue);
      expect(await catalog.getCrawler(base.crawlerName)).toEqual({ state: 'READY' });

      const started = await startCrawl(base, { catalog });

      expect(started.started).toBe(true);
      expect(await catalog.getCrawler(base.crawlerName)).toMatchObject({ state: 'RUNNING' });
      await expect(catalog.startCrawler(base.crawlerName)).rejects.toMatchObject({
        name: 'CrawlerRunningError',
      });
      expect(await startCrawl(base, { catalog })).toMatchObject({ started: false });
      await expect(
        pollCrawl({ ...base, requestedAt: started.requestedAt }, { catalog }),
      ).rejects.toMatchObject({ name: 'CrawlerNotReadyError' });
    });

    test('a crawler that does not exist is a plain error (a deployment fault), not a retryable one', async () => {
      const catalog = new GlueCatalog(glueClient());
      await expect(catalog.startCrawler('no-such-crawler')).rejects.toMatchObject({
        name: 'EntityNotFoundException',
      });
    });
  });

  describe('AthenaQueryEngine', () => {
    test('sends values as ExecutionParameters (quoted literals), polls to SUCCEEDED, skips the header row', async () => {
      const athena = new AthenaClient(moto.clientConfig);
      await cannedAthena([{ header: ['row_count', 'note'], rows: [['3', null]] }]);
      const engine = new AthenaQueryEngine(athena, { workGroup: 'primary', pollIntervalMs: 10 });
      const nasty = "%/x'; DROP TABLE t; --.parquet";

      const rows = await engine.query(
        'SELECT count(*) AS row_count FROM "registrations" WHERE "$path" LIKE ?',
        [nasty],
        {
          database: 'serverless_etl',
        },
      );

      expect(rows).toEqual([{ row_count: '3', note: null }]);
      const { QueryExecutionIds } = await athena.send(new ListQueryExecutionsCommand({}));
      const { QueryExecution } = await athena.send(
        new GetQueryExecutionCommand({ QueryExecutionId: QueryExecutionIds![0] }),
      );
      expect(QueryExecution).toMatchObject({
        Query: 'SELECT count(*) AS row_count FROM "registrations" WHERE "$path" LIKE ?',
        ExecutionParameters: ["'%/x''; DROP TABLE t; --.parquet'"],
        QueryExecutionContext: { Database: 'serverless_etl' },
        WorkGroup: 'primary',
      });
    });

    test('literals: strings quoted with doubled quotes, numbers and booleans bare, NaN refused', () => {
      expect([athenaLiteral("it's"), athenaLiteral(42), athenaLiteral(true)]).toEqual([
        "'it''s'",
        '42',
        'true',
      ]);
      expect(() => athenaLiteral(Number.NaN)).toThrow(/finite/);
    });
  });

  describe('verify on the AWS wiring', () => {
    const OBJECT = lake.curatedObject('registrations', 'event_date_month', '2026-03', 'march-aaaaaaaaaaaa');
    async function arrange(rowsOut: number) {
      const s3 = new S3Client(moto.clientConfig);
      await s3.send(new CreateBucketCommand({ Bucket: 'serverless-etl-lake' }));
      const store = new S3ObjectStore(s3);
      await store.put(
        'serverless-etl-lake',
        lake.manifest('registrations', 'march-aaaaaaaaaaaa'),
        JSON.stringify({
          versionTag: '0123456789ab',
          rowsIn: 3,
          rowsOut,
          duplicatesDropped: 0,
          partitions: ['2026-03'],
          objects: [OBJECT],
        }),
      );
      const query = new AthenaQueryEngine(new AthenaClient(moto.clientConfig), {
        workGroup: 'primary',
        pollIntervalMs: 10,
      });
      // No newer version of the key is ever claimed here: the ledger only answers "latest".
      const ledger = {
        latest: async () => undefined,
        settle: async () => {
          throw new Error('verify settled a version although no newer one was claimed');
        },
      };
      return { store, query, ledger };
    }
    const input = {
      runId: 'run-1',
      source: {
        bucket: 'serverless-etl-landing',
        key: 'incoming/registrations/march.csv',
        size: 1,
        etag: 'e',
        sequencer: '0A',
      },
      dataset: 'registrations',
      sourceId: 'march-aaaaaaaaaaaa',
      versionTag: '0123456789ab',
      rowsValid: 3,
      lakeBucket: 'serverless-etl-lake',
      database: 'serverless_etl',
    };
    /** What Athena answers to the first verification query: the row count and NULLs per required column. */
    const rowsAndNulls = (rows: string) => ({
      header: ['rows:total', 'nulls:registration_id', 'nulls:attendee_email'],
      rows: [[rows, '0', '0']],
    });

    test('passes when Athena agrees with the manifest', async () => {
      const deps = await arrange(3);
      await cannedAthena([rowsAndNulls('3'), { header: ['duplicate_keys'], rows: [['0']] }]);

      await expect(verifyOutput(input, deps)).resolves.toMatchObject({ rowsOut: 3 });
      // What Athena was asked: this run's partition and exactly its object by "$path", as parameters.
      const athena = new AthenaClient(moto.clientConfig);
      const { QueryExecutionIds } = await athena.send(new ListQueryExecutionsCommand({}));
      const sent = [];
      for (const id of QueryExecutionIds ?? []) {
        const { QueryExecution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
        if (QueryExecution?.Query?.includes('"$path" IN')) sent.push(QueryExecution);
      }
      expect(sent.length).toBeGreaterThanOrEqual(2);
      for (const q of sent) {
        expect(q.Query).toContain('WHERE "event_date_month" IN (?) AND "$path" IN (?)');
        expect(q.ExecutionParameters).toEqual(["'2026-03'", `'s3://serverless-etl-lake/${OBJECT}'`]);
      }
    });

    test('fails with VerificationFailedError when Athena sees fewer rows than the transform reported', async () => {
      const deps = await arrange(3);
      await cannedAthena([rowsAndNulls('2'), { header: ['duplicate_keys'], rows: [['0']] }]);

      await expect(verifyOutput(input, deps)).rejects.toMatchObject({
        name: 'VerificationFailedError',
        message: expect.stringContaining('has 2 rows from this file, the transform reported rowsOut 3'),
      });
    });
  });
});
