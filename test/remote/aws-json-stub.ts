/**
 * A tiny AWS JSON-protocol server on 127.0.0.1 for the calls moto 5.1.4 does not implement
 * (RedriveExecution) or implements too simply to exercise our code (Athena's QUEUED/RUNNING
 * states and result paging; GetExecutionHistory paging). The real SDK clients talk to it, so
 * request serialisation and response parsing are the SDK's own. Tests that use it say "(stub)".
 */
import { createServer, type Server } from 'node:http';

export interface StubRequest {
  /** The X-Amz-Target operation, e.g. "RedriveExecution". */
  readonly operation: string;
  readonly body: Record<string, unknown>;
}

/** What the stub answers: a 200 with a JSON body, or an AWS error by its `__type`. */
export type StubReply =
  { readonly body: unknown } | { readonly error: string; readonly message: string; readonly status?: number };

export interface AwsJsonStub {
  readonly endpoint: string;
  readonly requests: StubRequest[];
  readonly clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  };
  stop(): Promise<void>;
}

/** Starts the stub on a free loopback port; `answer` decides each reply. */
export async function startAwsJsonStub(answer: (req: StubRequest) => StubReply): Promise<AwsJsonStub> {
  const requests: StubRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.indexOf('.') + 1);
      const text = Buffer.concat(chunks).toString('utf8');
      const request: StubRequest = {
        operation,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      };
      requests.push(request);
      let reply: StubReply;
      try {
        reply = answer(request);
      } catch (err) {
        reply = { error: 'InternalServerException', message: String(err), status: 500 };
      }
      const json = String(req.headers['content-type'] ?? 'application/x-amz-json-1.0');
      if ('error' in reply) {
        res.writeHead(reply.status ?? 400, { 'content-type': json });
        res.end(JSON.stringify({ __type: reply.error, message: reply.message }));
      } else {
        res.writeHead(200, { 'content-type': json });
        res.end(JSON.stringify(reply.body));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    requests,
    clientConfig: {
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
