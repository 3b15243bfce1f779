/**
 * The local Spark engine: runs the real Glue job script (glue/etl_job.py) on plain local Spark,
 * with the same request and the same output contract as the embedded DuckDB engine
 * (transform/duckdb.ts): `curated/<dataset>/<partition>=YYYY-MM-DD/<sourceId>.snappy.parquet`
 * per day plus `manifests/<dataset>/<sourceId>.json` (engine `spark`) in the lake folder.
 *
 * Why a child process: Spark needs a JVM and PySpark; the job is the very script Glue runs, so
 * running it here is what makes `etl run --engine spark` a rehearsal of the cloud transform.
 * Starting Spark costs ~7-15 s, so {@link runSparkTransforms} runs many files in one session.
 *
 * Needs `.venv` (npm run setup:python) and Java 17.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TransformFailedError } from '../core/errors';
import type { TransformManifest } from '../core/steps';
import { checkRequest, type TransformRequest } from './request';

const REPO_ROOT = path.resolve(__dirname, '..');
/** The Glue job script, run unchanged. */
export const GLUE_JOB_SCRIPT = path.join(REPO_ROOT, 'glue', 'etl_job.py');
const RESULT_MARK = 'ETL_JOB_RESULT ';
/** Lines of the job's stderr kept for a failure message. */
const STDERR_TAIL_LINES = 30;

export interface SparkEngineOptions {
  /** Python with pyspark. @default `<repo>/.venv/bin/python` (or env ETL_PYTHON) */
  readonly python?: string;
  /** Spark master. @default 'local[2]' */
  readonly master?: string;
  /** Driver (= executor, in local mode) memory. @default '1g' */
  readonly driverMemory?: string;
  /** Kill the job after this long. @default no limit */
  readonly timeoutMs?: number;
  /**
   * Extra Spark settings for the session (applied last), e.g. `{ 'spark.sql.shuffle.partitions': '8' }`.
   * @default none
   */
  readonly sparkConf?: Readonly<Record<string, string>>;
}

/** One request's outcome in a batch: its manifest, or why it failed. */
export type SparkTransformOutcome =
  | { readonly ok: true; readonly manifest: TransformManifest }
  | { readonly ok: false; readonly error: TransformFailedError };

interface JobLine {
  job: number;
  ok: boolean;
  manifest?: TransformManifest;
  error?: { type: string; message: string };
}

/**
 * Transforms one source file's staging rows with the Glue job on local Spark. Same request and
 * semantics as the DuckDB engine: refuses staging without `_SUCCESS`, replaces exactly this
 * file's objects, writes the manifest. Rejects with {@link TransformFailedError} carrying the
 * job's own error (e.g. the source line of a non-canonical value) or the last lines of its output.
 *
 * @example
 * const manifest = await runSparkTransform({ plan, sourceId, versionTag, stagingDir, lakeDir });
 */
export async function runSparkTransform(
  request: TransformRequest,
  options: SparkEngineOptions = {},
): Promise<TransformManifest> {
  const [outcome] = await runSparkTransforms([request], options);
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.manifest;
}

/**
 * Runs several transforms one after another in ONE Spark session (one JVM start for all). Each
 * request gets its own outcome; one failing does not stop the next. Requests that fail the
 * request checks (bad ids, no `_SUCCESS`) fail without starting Spark.
 */
export async function runSparkTransforms(
  requests: readonly TransformRequest[],
  options: SparkEngineOptions = {},
): Promise<SparkTransformOutcome[]> {
  const outcomes: (SparkTransformOutcome | undefined)[] = requests.map(() => undefined);
  const work = mkdtempSync(path.join(tmpdir(), 'etl-spark-'));
  try {
    const jobs: { index: number; args: Record<string, string> }[] = [];
    requests.forEach((request, index) => {
      try {
        const { plan } = checkRequest(request);
        // The request's plan is the one to run, whatever the staging folder holds.
        const planFile = path.join(work, `plan-${index}.json`);
        writeFileSync(planFile, JSON.stringify(plan));
        jobs.push({
          index,
          args: {
            staging: path.resolve(request.stagingDir),
            lake: path.resolve(request.lakeDir),
            dataset: plan.dataset,
            source_id: request.sourceId,
            version_tag: request.versionTag,
            ...(request.sourceOrder !== undefined && { source_order: request.sourceOrder }),
            plan: planFile,
            engine: 'spark',
          },
        });
      } catch (e) {
        outcomes[index] = { ok: false, error: asTransformFailed(e) };
      }
    });
    if (jobs.length > 0) {
      const jobsFile = path.join(work, 'jobs.json');
      writeFileSync(jobsFile, JSON.stringify(jobs.map((j) => j.args)));
      const conf = Object.entries(options.sparkConf ?? {}).flatMap(([k, v]) => ['--conf', `${k}=${v}`]);
      const { lines, stderrTail, exit } = await runJobScript(['--jobs', jobsFile, ...conf], options);
      for (const line of lines) {
        const job = jobs[line.job];
        if (!job) continue;
        outcomes[job.index] =
          line.ok && line.manifest
            ? { ok: true, manifest: line.manifest }
            : {
                ok: false,
                error: new TransformFailedError(
                  `transform of ${requests[job.index]!.sourceId} on local Spark failed: ${line.error?.type}: ${line.error?.message}`,
                ),
              };
      }
      for (const job of jobs) {
        outcomes[job.index] ??= {
          ok: false,
          error: new TransformFailedError(
            `transform of ${requests[job.index]!.sourceId} on local Spark did not finish (${exit}). Last output:\n${stderrTail}`,
          ),
        };
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return outcomes.map((o) => o!);
}

function asTransformFailed(e: unknown): TransformFailedError {
  return e instanceof TransformFailedError ? e : new TransformFailedError((e as Error).message);
}

/** Spawns the job script and collects its result lines and the tail of its stderr. */
function runJobScript(
  args: string[],
  options: SparkEngineOptions,
): Promise<{ lines: JobLine[]; stderrTail: string; exit: string }> {
  const python = options.python ?? process.env.ETL_PYTHON ?? path.join(REPO_ROOT, '.venv', 'bin', 'python');
  return new Promise((resolve, reject) => {
    const child = spawn(python, [GLUE_JOB_SCRIPT, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // Spark's Python workers must be the same interpreter as the driver.
        PYSPARK_PYTHON: python,
        PYSPARK_DRIVER_PYTHON: python,
        // Loopback only: no lookup of the machine's name, nothing listens beyond this host.
        SPARK_LOCAL_IP: '127.0.0.1',
        SPARK_LOCAL_HOSTNAME: 'localhost',
        ETL_SPARK_MASTER: options.master ?? 'local[2]',
        ETL_SPARK_DRIVER_MEMORY: options.driverMemory ?? '1g',
        PYTHONUNBUFFERED: '1',
      },
    });
    let stdout = '';
    let stderr: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr = stderr.concat(s.split('\n')).slice(-STDERR_TAIL_LINES * 4);
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(
        new TransformFailedError(
          `local Spark: cannot start ${python} (${e.message}). Fix: run \`npm run setup:python\` (needs Java 17)`,
        ),
      );
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout
        .split('\n')
        .filter((l) => l.startsWith(RESULT_MARK))
        .map((l) => JSON.parse(l.slice(RESULT_MARK.length)) as JobLine);
      const tail = stderr
        .filter((l) => l.trim() !== '' && !l.startsWith('\tat '))
        .slice(-STDERR_TAIL_LINES)
        .join('\n');
      resolve({
        lines,
        stderrTail: tail,
        exit: signal ? `killed by ${signal}` : `exit code ${code}`,
      });
    });
  });
}
