/**
 * Keeps the AWS SDK out of the local runtime's process.
 *
 * Why: each step's `handler.ts` exports both `createHandler(deps)` (what the local runtime calls
 * with local adapters) and `handler` (the same wired to AWS clients), so importing it pulls in
 * `@aws-sdk/*` at module load — ≈90 ms per client, several hundred ms per `etl run` — and
 * aws-local-stepfunctions itself imports the Lambda client to call real functions. Locally none
 * of those clients is ever used, so while the hook is installed every `@aws-sdk/*` module is
 * answered by a stub whose exports throw a clear error if anything does try to call AWS.
 *
 * Scope: Node's CommonJS loader (how `tsx` and `node` load this project). Jest has its own module
 * loader, so under Jest the real SDK loads; harmless, only slower.
 */
import Module from 'node:module';

type Loader = {
  _load: (request: string, parent: unknown, isMain: boolean) => unknown;
};

let installed = false;

/** A stand-in for any SDK export: constructible and callable, failing with the reason. */
function unavailable(name: string): unknown {
  const fail = () => {
    throw new Error(
      `the local runtime does not call AWS, but something used ${name}. ` +
        'A Task state or adapter is wired to an AWS client instead of a local adapter (see local/pipeline.ts).',
    );
  };
  return new Proxy(function stub() {}, {
    construct: fail,
    apply: fail,
    get: (_target, prop) => (prop === 'prototype' ? {} : undefined),
  });
}

function stubModule(request: string): unknown {
  const cache = new Map<PropertyKey, unknown>();
  return new Proxy(
    {},
    {
      get(_target, prop) {
        if (prop === '__esModule') return true;
        if (prop === 'then') return undefined; // not a thenable
        if (!cache.has(prop)) cache.set(prop, unavailable(`${request}.${String(prop)}`));
        return cache.get(prop);
      },
    },
  );
}

/** Installs the hook for the rest of the process (idempotent). */
export function installNoAwsLoader(): void {
  if (installed) return;
  installed = true;
  const loader = Module as unknown as Loader;
  const original = loader._load;
  const stubs = new Map<string, unknown>();
  loader._load = function (request, parent, isMain) {
    if (request.startsWith('@aws-sdk/')) {
      if (!stubs.has(request)) stubs.set(request, stubModule(request));
      return stubs.get(request);
    }
    return original.call(this, request, parent, isMain);
  };
}
