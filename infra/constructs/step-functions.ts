/**
 * One Lambda per pipeline step (functions/<step>/handler.ts), each with its own role granting
 * exactly the step's declared `iamNeeds` (read from the static registry functions/steps.ts), its
 * own encrypted log group, Powertools settings by environment, and the dataset contracts bundled
 * beside the code.
 *
 * Bundling uses the local esbuild (never Docker): `@aws-sdk/*` stays external because the
 * nodejs22.x runtime ships it, and schemas/ is copied into the bundle (SCHEMAS_DIR points there).
 *
 * Two sources of code, the same packages: in the repository each step is bundled from
 * `functions/<step>/handler.ts` at synth; in an installed package (no TypeScript sources) each
 * step's bundle was built by that same bundling when the package was packed
 * (scripts/build-package.ts) and ships in `lambda/<step>/`; the app's contracts are added to it at
 * synth. Either way nothing needs Docker, the network or the app's working directory.
 */
import { AssetHashType, DockerImage, Size, type Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../core/instrumentation';
import { STEP_ENV, type IamNeeds, type IamResourceName } from '../../core/steps';
import { stepRegistration } from '../../functions/steps';
import { SOURCE_FILE_SUFFIX } from '../../sources/definition';
import { statementsFor, type IamResourceMap } from '../iam-needs';
import { nativePackageDir, nativePackagesFor, type LambdaArchitecture } from '../native-modules';

/**
 * The package's root: the repository, or `dist/` of an installed package (the build keeps the
 * repository's layout there, so every path below resolves from these files, never the cwd).
 */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Prebuilt step bundles of an installed package, one folder per step (scripts/build-package.ts). */
export const PREBUILT_LAMBDA_DIR = path.join(REPO_ROOT, 'lambda');
/**
 * Where a prebuilt bundle keeps its native packages: `node_modules` would be dropped by `npm pack`,
 * so they travel under this name and become `node_modules/` when the function's asset is staged.
 */
export const PREBUILT_NATIVE_DIR = 'native_modules';
/** Where the bundled contracts live inside every function package. */
export const BUNDLED_SCHEMAS_DIR = '/var/task/schemas';
/** Folder of the bundled code inside the package (see afterBundling). */
export const BUNDLED_HANDLER_DIR = 'functions';
/** The project's esbuild (the same one NodejsFunction bundles with). */
const ESBUILD = path.join(REPO_ROOT, 'node_modules', '.bin', 'esbuild');

/** How one step's function is sized. */
export interface StepFunctionSettings {
  /** Memory in MiB; CPU scales with it (1,769 MiB = one full vCPU, ≈3,538 MiB = two). */
  readonly memoryMiB: number;
  /**
   * Function timeout. Keep it under the TimeoutSeconds of the Task states that invoke the function,
   * so Lambda's own timeout (with its log line) fires before the state's States.Timeout.
   */
  readonly timeout: Duration;
  /** /tmp size in MiB (512–10,240): where a step copies objects to work on. @default 512 */
  readonly ephemeralStorageMiB?: number;
  /**
   * Concurrency reserved for (and capping) this function, so a burst of it cannot take the
   * account's whole Lambda concurrency from the other steps. @default none (the account's pool)
   */
  readonly reservedConcurrency?: number;
  /**
   * Extra environment variables of this step only (e.g. validate's routing threshold), set over
   * the group's. @default none (only the group's Powertools, schemas and resource variables)
   */
  readonly environment?: Readonly<Record<string, string>>;
}

export interface StepFunctionsProps {
  /**
   * Steps to build: folder name under `functionsDir` → sizing. Each must be registered in
   * functions/steps.ts (`STEPS`), which supplies its `iamNeeds` and worker-thread entries.
   */
  readonly steps: Readonly<Record<string, StepFunctionSettings>>;
  /**
   * The stack's resources the steps' `iamNeeds` may name (`on`), with their ARNs. A need naming a
   * resource missing here stops the synth with the step's name.
   */
  readonly resources: IamResourceMap;
  /**
   * Value of each resource's environment variable (names in core/steps.ts `STEP_ENV`), set on every
   * function of this group: bucket and table names, the workgroup, the state machine ARN, ...
   */
  readonly environmentValues: Readonly<Partial<Record<IamResourceName, string>>>;
  /** The key that encrypts the functions' log groups (and, through `resources`, what they touch). */
  readonly key: kms.IKey;
  /** Retention of each function's own log group. */
  readonly logRetention: logs.RetentionDays;
  /** Prefix of the functions' names and of their log group names (`/aws/lambda/<prefix>-<step>`). */
  readonly namePrefix: string;
  /**
   * Folder with one sub-folder per step holding its `handler.ts` (the bundled entry).
   * @default <repo>/functions
   */
  readonly functionsDir?: string;
  /** Folder with the dataset contracts to bundle beside each handler. @default <repo>/schemas */
  readonly schemasDir?: string;
  /** POWERTOOLS_LOG_LEVEL of every function in the group. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/** A built step: the function, its role and what it declared. */
export interface StepFunction {
  readonly step: string;
  /** A `NodejsFunction` when bundled from source, a `Function` from a prebuilt bundle. */
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly iamNeeds: IamNeeds;
}

export class StepFunctions extends Construct {
  readonly byStep: ReadonlyMap<string, StepFunction>;

  constructor(scope: Construct, id: string, props: StepFunctionsProps) {
    super(scope, id);
    const functionsDir = props.functionsDir ?? path.join(REPO_ROOT, 'functions');
    // Source bundling when the TypeScript is here (the repository, or a functionsDir given);
    // otherwise the installed package's prebuilt bundles.
    const fromSource = (step: string) =>
      props.functionsDir !== undefined || existsSync(path.join(functionsDir, step, 'handler.ts'));
    const schemasDir = props.schemasDir ?? path.join(REPO_ROOT, 'schemas');
    const built = new Map<string, StepFunction>();

    for (const [step, settings] of Object.entries(props.steps)) {
      const {
        iamNeeds,
        workers: workerEntries = [],
        nativeModules = [],
        architecture = 'arm64',
        sourceDefinitions = false,
      } = stepRegistration(step);
      const source = fromSource(step);
      // `record-failure` → `RecordFailure` (construct ids and logical ids).
      const title = step
        .split('-')
        .map((w) => w[0]!.toUpperCase() + w.slice(1))
        .join('');

      const logGroup = new logs.LogGroup(this, `${title}Logs`, {
        logGroupName: `/aws/lambda/${props.namePrefix}-${step}`,
        retention: props.logRetention,
        encryptionKey: props.key,
      });
      const role = new iam.Role(this, `${title}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `${step} step: exactly the actions functions/${step} declares in iamNeeds`,
      });
      // Instead of AWSLambdaBasicExecutionRole (any log group in the account): this one only.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'WriteOwnLogGroup',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      for (const statement of statementsFor(`functions/${step}`, iamNeeds, props.resources, props.key)) {
        role.addToPrincipalPolicy(statement);
      }

      const environment: Record<string, string> = {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        [STEP_ENV.schemasDir]: BUNDLED_SCHEMAS_DIR,
        NODE_OPTIONS: '--enable-source-maps',
      };
      for (const [name, value] of Object.entries(props.environmentValues)) {
        environment[STEP_ENV[name as IamResourceName]] = value;
      }
      Object.assign(environment, settings.environment);

      const common: Omit<lambda.FunctionProps, 'code'> = {
        functionName: `${props.namePrefix}-${step}`,
        description: `serverless-etl ${step} step (functions/${step})`,
        handler: `${BUNDLED_HANDLER_DIR}/index.handler`,
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: architecture === 'x86_64' ? lambda.Architecture.X86_64 : lambda.Architecture.ARM_64,
        memorySize: settings.memoryMiB,
        timeout: settings.timeout,
        ...(settings.ephemeralStorageMiB !== undefined && {
          ephemeralStorageSize: Size.mebibytes(settings.ephemeralStorageMiB),
        }),
        ...(settings.reservedConcurrency !== undefined && {
          reservedConcurrentExecutions: settings.reservedConcurrency,
        }),
        role,
        logGroup,
        tracing: lambda.Tracing.ACTIVE,
        environment,
      };
      const fn = source
        ? bundledFromSource(this, title, step, common, {
            functionsDir,
            schemasDir,
            workerEntries,
            nativeModules,
            architecture,
            sourceDefinitions,
          })
        : new lambda.Function(this, title, {
            ...common,
            code: prebuiltCode(step, schemasDir, sourceDefinitions),
          });
      built.set(step, { step, fn, role, logGroup, iamNeeds });
    }
    this.byStep = built;
  }

  /** The built step, or a clear error naming it. */
  get(step: string): StepFunction {
    const s = this.byStep.get(step);
    if (!s) throw new Error(`StepFunctions: no function for step "${step}"`);
    return s;
  }
}

/** What source bundling needs besides the function's own props. */
interface SourceBundling {
  readonly functionsDir: string;
  readonly schemasDir: string;
  readonly workerEntries: readonly string[];
  readonly nativeModules: readonly string[];
  readonly architecture: LambdaArchitecture;
  /** Also bundle `<schemasDir>/*.source.json` (functions/pull). */
  readonly sourceDefinitions: boolean;
}

/**
 * `functions/<step>/handler.ts` bundled with the local esbuild (NodejsFunction, never Docker), the
 * contracts, worker entries and native packages beside it. scripts/build-package.ts builds the
 * package's prebuilt bundles through this same function.
 */
function bundledFromSource(
  scope: Construct,
  id: string,
  step: string,
  common: Omit<lambda.FunctionProps, 'code'>,
  b: SourceBundling,
): nodejs.NodejsFunction {
  // Checked now (the lock pins each one); fetched, if not installed, only when bundling.
  const natives =
    b.nativeModules.length > 0 ? nativePackagesFor(b.nativeModules, b.architecture, REPO_ROOT) : [];
  const declared = path.join(b.functionsDir, step, 'handler.ts');
  if (!existsSync(declared)) {
    throw new Error(
      `${declared} does not exist. Fix: every step in the state machine needs functions/${step}/handler.ts exporting \`handler\`.`,
    );
  }
  // The real path: esbuild and CDK require the entry to sit under the project root.
  const entry = realpathSync(declared);
  // Worker-thread entry points a step starts by file name at run time (validate's CSV parse
  // worker): esbuild's one-file bundle would not contain them, so each is bundled on its own,
  // beside the handler, as `<step>-<name>-worker.js`.
  const workers = b.workerEntries.map((rel) => ({
    source: path.join(REPO_ROOT, rel),
    bundled: `${step}-${path.basename(rel).replace(/\.ts$/, '.js')}`,
  }));
  return new nodejs.NodejsFunction(scope, id, {
    ...common,
    entry,
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    bundling: {
      forceDockerBundling: false,
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      target: 'node22',
      format: nodejs.OutputFormat.CJS,
      // The nodejs22.x runtime ships AWS SDK v3; bundling it would add megabytes and cold-start time.
      externalModules: ['@aws-sdk/*', ...natives.map((m) => m.name)],
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        // The package is laid out like the repository: code in functions/, contracts in
        // schemas/ beside it. core/contract.ts's default (../schemas from the code) then
        // finds them even in a handler that does not read SCHEMAS_DIR.
        afterBundling: (_inputDir: string, outputDir: string) => [
          `mkdir -p "${outputDir}/functions" "${outputDir}/schemas"`,
          `mv "${outputDir}/index.js" "${outputDir}/functions/index.js"`,
          `if [ -f "${outputDir}/index.js.map" ]; then mv "${outputDir}/index.js.map" "${outputDir}/functions/index.js.map"; fi`,
          `cp "${b.schemasDir}"/*.schema.json "${outputDir}/schemas/"`,
          ...(b.sourceDefinitions
            ? [
                `for f in "${b.schemasDir}"/*${SOURCE_FILE_SUFFIX}; do if [ -f "$f" ]; then cp "$f" "${outputDir}/schemas/"; fi; done`,
              ]
            : []),
          // Native packages as installed, where Node's resolution from functions/ finds them.
          // The Lambda's Linux binary too, fetched for its architecture when npm installed another.
          ...natives.flatMap((m) => [
            `mkdir -p "${outputDir}/node_modules/${m.name}"`,
            `cp -R "${nativePackageDir(m, REPO_ROOT)}/." "${outputDir}/node_modules/${m.name}/"`,
          ]),
          ...workers.map(
            (w) =>
              `"${ESBUILD}" "${w.source}" --bundle --platform=node --target=node22 --format=cjs --minify --external:@aws-sdk/* --log-level=warning --outfile="${outputDir}/${BUNDLED_HANDLER_DIR}/${w.bundled}"`,
          ),
        ],
      },
    },
  });
}

/**
 * An installed package's prebuilt bundle of `step` with the app's contracts: staged by a local
 * copy (no Docker), hashed by what was staged, so new contracts make a new asset.
 */
function prebuiltCode(step: string, schemasDir: string, sourceDefinitions: boolean): lambda.Code {
  const dir = path.join(PREBUILT_LAMBDA_DIR, step);
  if (!existsSync(path.join(dir, BUNDLED_HANDLER_DIR, 'index.js'))) {
    throw new Error(
      `No code for step ${step}: neither ${path.join(REPO_ROOT, 'functions', step, 'handler.ts')} nor the prebuilt ${path.join(dir, BUNDLED_HANDLER_DIR, 'index.js')}. Fix: in the repository, run \`npm run build:package\` before \`npm pack\` (prepack does it); an installed package ships lambda/<step>/.`,
    );
  }
  return lambda.Code.fromAsset(dir, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type, never pulled: the local copy below always succeeds.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22'),
      local: {
        tryBundle(outputDir: string): boolean {
          const natives = path.join(dir, PREBUILT_NATIVE_DIR);
          cpSync(dir, outputDir, { recursive: true, filter: (src) => src !== natives });
          if (existsSync(natives)) cpSync(natives, path.join(outputDir, 'node_modules'), { recursive: true });
          const schemas = path.join(outputDir, 'schemas');
          mkdirSync(schemas, { recursive: true });
          const bundled = (n: string) =>
            n.endsWith('.schema.json') || (sourceDefinitions && n.endsWith(SOURCE_FILE_SUFFIX));
          for (const f of readdirSync(schemasDir).filter(bundled))
            copyFileSync(path.join(schemasDir, f), path.join(schemas, f));
          return true;
        },
      },
    },
  });
}
