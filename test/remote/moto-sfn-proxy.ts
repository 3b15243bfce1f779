/**
 * A loopback proxy in front of moto for tests that run the CLI itself (which builds its own SDK
 * clients, so the client-side `acceptMotoTimestamps` middleware cannot be attached): every request
 * is forwarded to moto unchanged; Step Functions answers get their ISO timestamps rewritten to the
 * epoch seconds AWS sends (the same rewrite as moto-stack.ts acceptMotoTimestamps). Nothing else
 * is touched.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const SFN_TIMESTAMP = /"(creationDate|startDate|stopDate|timestamp|redriveDate|updateDate)":\s*"([^"]+)"/g;

export interface Proxy {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startSfnTimestampProxy(motoEndpoint: string): Promise<Proxy> {
  const target = new URL(motoEndpoint);
  const server: Server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const upstream = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            let out = Buffer.concat(chunks);
            const isSfn = String(req.headers['x-amz-target'] ?? '').startsWith('AWSStepFunctions.');
            if (isSfn)
              out = Buffer.from(
                out
                  .toString('utf8')
                  .replace(
                    SFN_TIMESTAMP,
                    (_m, key: string, iso: string) => `"${key}": ${Date.parse(iso) / 1000}`,
                  ),
                'utf8',
              );
            const headers = { ...answer.headers, 'content-length': String(out.length) };
            delete headers['transfer-encoding'];
            res.writeHead(answer.statusCode ?? 500, headers);
            res.end(out);
          });
        },
      );
      upstream.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      upstream.end(Buffer.concat(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
