/**
 * Loads aws-local-stepfunctions, once, without the AWS SDK: the library requires
 * @aws-sdk/client-lambda and @aws-sdk/credential-providers at import only to invoke real Lambda
 * functions when a Task has no local handler, and the local runtime maps every Task to one (see
 * no-aws.ts).
 */
import { installNoAwsLoader } from './no-aws';

type Library = typeof import('aws-local-stepfunctions');
let library: Library | undefined;

/** The library's exports. */
export function loadInterpreter(): Library {
  if (library) return library;
  installNoAwsLoader();
  // require, not import(): the no-AWS hook sits on the CommonJS loader.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  library = require('aws-local-stepfunctions') as Library;
  return library;
}
