/**
 * Loads aws-local-stepfunctions without the AWS SDK.
 *
 * Why: the library requires @aws-sdk/client-lambda and @aws-sdk/credential-providers at import
 * (≈120 ms and a pile of modules) only to invoke real Lambda functions when a Task has no local
 * handler. The local runtime maps every Task to a local implementation, so those two imports are
 * answered with stubs that fail loudly if the library ever tries to call AWS. Under Jest (which
 * has its own module loader) the hook does not apply and the real modules load, harmlessly.
 */
import Module from 'node:module';

type Library = typeof import('aws-local-stepfunctions');
let library: Library | undefined;

const NO_AWS = new Set(['@aws-sdk/client-lambda', '@aws-sdk/credential-providers']);

class NoAwsLocally {
  constructor() {
    throw new Error(
      'the local runtime never calls AWS: a Task state has no local implementation (see local/tasks.ts)',
    );
  }
}

/** The library's exports, loaded once. */
export function loadInterpreter(): Library {
  if (library) return library;
  const loader = Module as unknown as {
    _load: (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown;
  };
  const original = loader._load;
  loader._load = function (request, parent, isMain) {
    if (NO_AWS.has(request) && parent?.filename?.includes(`aws-local-stepfunctions`))
      return { LambdaClient: NoAwsLocally, fromCognitoIdentityPool: NoAwsLocally };
    return original.call(this, request, parent, isMain);
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    library = require('aws-local-stepfunctions') as Library;
  } finally {
    loader._load = original;
  }
  return library;
}
