/**
 * Loads aws-local-stepfunctions, once, on first use. The library requires @aws-sdk/client-lambda
 * and @aws-sdk/credential-providers at import, only to invoke real Lambda functions when a Task
 * has no local handler (the local runtime maps every Task to one); what that costs per `etl run`
 * is measured in local/README.md.
 */

type Library = typeof import('aws-local-stepfunctions');
let library: Library | undefined;

/** The library's exports. */
export function loadInterpreter(): Library {
  if (library) return library;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  library = require('aws-local-stepfunctions') as Library;
  return library;
}
