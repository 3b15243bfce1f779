/**
 * The local "account": one plain folder (default `.etl/` in the current directory) laid out like
 * the buckets, so anyone can open the Parquet with any tool.
 *
 * ```
 * .etl/landing/incoming/<dataset>/<file>.csv   the landing bucket (what `etl watch` watches)
 * .etl/lake/{staging,curated,rejects,quarantine,archive,manifests}/...   the lake bucket
 * .etl/runs/<runId>.json                       one record per execution (GetExecutionHistory shape)
 * .etl/outbox.jsonl                            what SNS would have sent, one message a line
 * .etl/faults.json                             optional fault injection (see local/faults.ts)
 * .etl/limits.json                             optional simulation of AWS's limits (see local/limits.ts)
 * .etl/limits-stats.json                       what those limits did (written while they are on)
 * .etl/ledger/, .etl/catalog.json             the claim ledger and the local Glue catalog
 * .etl/.versions/                              every version of every object (versioned buckets)
 * ```
 */
import path from 'node:path';

/** Bucket names the local runtime uses; each is a folder under the home. */
export const LOCAL_BUCKETS = { landing: 'landing', lake: 'lake' } as const;

/** Where one local installation keeps everything. All paths are absolute. */
export interface EtlHome {
  readonly root: string;
  readonly landingBucket: string;
  readonly lakeBucket: string;
  /** `<root>/landing/` — the landing bucket's folder. */
  readonly landingDir: string;
  /** `<root>/landing/incoming/` — where files are dropped. */
  readonly incomingDir: string;
  readonly lakeDir: string;
  readonly runsDir: string;
  /** The local SNS topic's messages (adapters/local/notifier.ts). */
  readonly outboxFile: string;
  readonly faultsFile: string;
  /** AWS's limits to simulate (local/limits.ts); none = unlimited. */
  readonly limitsFile: string;
  /** What the simulated limits did: peaks, queued and throttled counts (local/limits.ts). */
  readonly limitsStatsFile: string;
  /** The claim ledger (adapters/local/ledger.ts). */
  readonly ledgerDir: string;
  /** The local Glue catalog: crawler state and tables (adapters/local/catalog.ts). */
  readonly catalogFile: string;
  /** The sinks' local stand-ins, `dynamodb/` and `redshift/` (adapters/local/sink-tables.ts). */
  readonly sinksDir: string;
}

export interface HomeOptions {
  /** Explicit `--home`. */
  readonly home?: string;
  /** Environment to read ETL_HOME from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Directory a relative home (and the default `.etl`) is resolved against. @default process.cwd() */
  readonly cwd?: string;
}

/** Resolves the home: `--home`, else `ETL_HOME`, else `./.etl`. */
export function resolveHome(options: HomeOptions = {}): EtlHome {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  // An empty ETL_HOME counts as unset (a shell's `ETL_HOME= etl ...`), never as "the cwd itself".
  const root = path.resolve(cwd, options.home || env.ETL_HOME || '.etl');
  return homeAt(root);
}

/** The layout under an absolute root. */
export function homeAt(root: string): EtlHome {
  return {
    root,
    landingBucket: LOCAL_BUCKETS.landing,
    lakeBucket: LOCAL_BUCKETS.lake,
    landingDir: path.join(root, LOCAL_BUCKETS.landing),
    incomingDir: path.join(root, LOCAL_BUCKETS.landing, 'incoming'),
    lakeDir: path.join(root, LOCAL_BUCKETS.lake),
    runsDir: path.join(root, 'runs'),
    outboxFile: path.join(root, 'outbox.jsonl'),
    faultsFile: path.join(root, 'faults.json'),
    limitsFile: path.join(root, 'limits.json'),
    limitsStatsFile: path.join(root, 'limits-stats.json'),
    ledgerDir: path.join(root, 'ledger'),
    catalogFile: path.join(root, 'catalog.json'),
    sinksDir: path.join(root, 'sinks'),
  };
}
