/**
 * The one Tracer, imported only by the AWS entries (`functions/<step>/handler.ts`), never by a
 * step factory: loading it pulls in the X-Ray SDK (≈80–95 ms per process, measured in
 * local/README.md), which the local runtime and the tests, where tracing is off, should not pay.
 * As Powertools' examples keep it: one instance, `captureLambdaHandler` and `captureAWSv3Client`.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { SERVICE_NAME } from './instrumentation';

export const tracer = new Tracer({ serviceName: SERVICE_NAME });
