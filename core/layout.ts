/**
 * Where everything lives, in one place. Landing bucket: `incoming/<dataset>/.../<name>.csv`
 * (or `.jsonl`, `.json`, each optionally `.gz`; the only prefix the trigger rule matches). Lake bucket: every output prefix below, none of
 * which can ever match the trigger (different bucket, and none starts with `incoming/`).
 *
 * Object keys are untrusted input. {@link checkLandingKey} is the allowlist every step applies
 * before a key is used anywhere; past it, output names are built from {@link sourceIdOf} (a hash
 * plus a sanitised stem), so no key text ever reaches a filesystem path, an S3 prefix or SQL.
 */
import { createHash } from 'node:crypto';
import { DATASET_NAME, datasetNameProblem } from './dataset-name';

export const LANDING_PREFIX = 'incoming/';
export const MAX_KEY_BYTES = 1024;

/** The input formats a landing file can be in (core/contract `InputFormat`, not imported: contract loads more). */
export type LandingFormat = 'csv' | 'jsonl' | 'json';

/**
 * The one file-name rule for landing files: these suffixes in any ASCII letter case (`a.csv`,
 * `x.Csv`, `e.JSONL.GZ`). The key allowlist ({@link checkLandingKey}), the reconcile sweep and the
 * local watcher ({@link isTriggerKey}, {@link hasLandingSuffix}) all derive from this list, and the
 * EventBridge trigger rule ({@link triggerKeyPattern}) matches every key under `incoming/`, so a key
 * one of them accepts is never missed by another. Longest first (`.json.gz` before `.gz`-less forms
 * does not matter: no suffix ends another one, `.json` vs `.jsonl` differ in the last letter).
 */
export const LANDING_SUFFIXES = ['.csv', '.csv.gz', '.jsonl', '.jsonl.gz', '.json', '.json.gz'] as const;

/** What a landing file's name says it holds. */
export interface LandingFile {
  readonly format: LandingFormat;
  /** Named `.gz`: the bytes are gzip, decompressed as they are read. */
  readonly gzip: boolean;
  /** The suffix as written in the name (its case kept). */
  readonly suffix: string;
  /** The name without the suffix (`events.jsonl.gz` → `events`). */
  readonly stem: string;
}

/** ASCII-only lower case: no other character maps onto a suffix letter (unlike `toLowerCase`). */
const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

/**
 * The format a file name (or key) says, from its landing suffix in any ASCII case; undefined when
 * it has none of {@link LANDING_SUFFIXES}.
 * @example landingFileOf('Events.JSONL.gz') // { format: 'jsonl', gzip: true, suffix: '.JSONL.gz', stem: 'Events' }
 */
export function landingFileOf(name: string): LandingFile | undefined {
  const lower = asciiLower(name);
  for (const suffix of LANDING_SUFFIXES) {
    if (lower.endsWith(suffix)) {
      const gzip = suffix.endsWith('.gz');
      const format = suffix.slice(1, gzip ? -3 : undefined) as LandingFormat;
      const at = name.length - suffix.length;
      return { format, gzip, suffix: name.slice(at), stem: name.slice(0, at) };
    }
  }
  return undefined;
}

/** The Content-Type an upload of `name` is stored with: by its landing suffix (gzip when `.gz`). */
export function landingContentType(name: string): string {
  const file = landingFileOf(name);
  if (!file) return 'application/octet-stream';
  if (file.gzip) return 'application/gzip';
  return file.format === 'csv'
    ? 'text/csv'
    : file.format === 'jsonl'
      ? 'application/x-ndjson'
      : 'application/json';
}

/** Whether `name` (a key or a file name) ends in one of {@link LANDING_SUFFIXES}, ignoring ASCII case. */
export function hasLandingSuffix(name: string): boolean {
  return landingFileOf(name) !== undefined;
}

/** Keys the pipeline runs: under {@link LANDING_PREFIX} and ending in a landing suffix, any case. */
export function isTriggerKey(key: string): boolean {
  return key.startsWith(LANDING_PREFIX) && hasLandingSuffix(key);
}

/**
 * The EventBridge pattern for `detail.object.key`: every key under `incoming/`.
 *
 * An exact pattern is not possible: EventBridge cannot AND a `prefix` and a `suffix` on one field,
 * its case-insensitive `suffix: { equals-ignore-case }` cannot carry the prefix, and a `wildcard`
 * can hold both but is case-sensitive — one wildcard per case spelling of the six suffixes is 280
 * wildcards (`.jsonl.gz` alone has 128 spellings), far past the 2,048-character pattern limit.
 * Matching the suffixes in any case anywhere in the bucket would start runs for (and quarantine)
 * files outside `incoming/`, which may belong to someone else when the bucket is brought. So the
 * rule matches the prefix, the pipeline's own namespace, and the Claim step's allowlist
 * ({@link checkLandingKey}) decides: a key under `incoming/` whose name has no landing suffix (a
 * `notes.txt`, a folder marker) is refused as KEY_NOT_ALLOWED, quarantined and notified, instead of
 * lying there unnoticed. Reconcile sweeps only {@link isTriggerKey} keys.
 */
export function triggerKeyPattern(): { prefix: string }[] {
  return [{ prefix: LANDING_PREFIX }];
}

export type KeyCheck =
  | {
      readonly ok: true;
      readonly dataset: string;
      readonly fileName: string;
      /** What the name's suffix says the file holds ({@link landingFileOf}). */
      readonly format: LandingFormat;
      readonly gzip: boolean;
    }
  | { readonly ok: false; readonly problem: string; readonly fix: string };

// Letters, marks and digits of any script, emoji, and a few punctuation marks that are common in
// file names and harmless everywhere we use them. Everything else (quotes, `;`, `\`, control
// characters, `*?<>|$` ...) is refused by name below.
const SEGMENT = /^(?:[\p{L}\p{M}\p{N}\p{Extended_Pictographic} _.+=:@,()!%&~-]|\u200d|\ufe0f)+$/u;

/** Checks a landing key against the allowlist. The key is the decoded one (see core/events). */
export function checkLandingKey(key: string): KeyCheck {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES)
    return {
      ok: false,
      problem: `key is ${bytes} bytes, over S3's ${MAX_KEY_BYTES}`,
      fix: 'use a shorter name',
    };
  if (!key.startsWith(LANDING_PREFIX)) {
    return {
      ok: false,
      problem: `key is outside ${LANDING_PREFIX}`,
      fix: `upload to ${LANDING_PREFIX}<dataset>/<file>.csv (or .jsonl, .json, each optionally .gz)`,
    };
  }
  if (key.endsWith('/'))
    return {
      ok: false,
      problem: 'key is a folder marker, not a file',
      fix: 'upload a .csv, .jsonl or .json file (optionally .gz) into the folder; a folder needs no marker object',
    };
  if (/\p{Cc}/u.test(key))
    return {
      ok: false,
      problem: 'key contains control characters',
      fix: 'rename the file with printable characters only',
    };
  const bad = /['"`;\\*?<>|$#^{}[\]]/.exec(key);
  if (bad)
    return {
      ok: false,
      problem: `key contains the character ${JSON.stringify(bad[0])}`,
      fix: 'rename the file with letters, digits, spaces and - _ . + = : @ , ( ) only',
    };
  if (key.includes('--'))
    return { ok: false, problem: 'key contains "--"', fix: 'rename the file without a double hyphen' };
  const segments = key.slice(LANDING_PREFIX.length).split('/');
  const dataset = segments[0] ?? '';
  if (segments.length < 2 || dataset === '') {
    return {
      ok: false,
      problem: 'key has no dataset folder',
      fix: `upload to ${LANDING_PREFIX}<dataset>/<file>.csv`,
    };
  }
  if (!DATASET_NAME.test(dataset)) {
    return {
      ok: false,
      problem: `"${dataset}" is not a valid dataset name: ${datasetNameProblem(dataset)}`,
      fix: 'upload into the folder named like the dataset contract (<dataset>.schema.json)',
    };
  }
  for (const seg of segments.slice(1)) {
    if (seg === '' || seg === '.' || seg === '..')
      return { ok: false, problem: 'key has an empty, "." or ".." segment', fix: 'remove it from the path' };
    if (!SEGMENT.test(seg))
      return {
        ok: false,
        problem: `key segment ${JSON.stringify(seg)} has characters outside the allowlist`,
        fix: 'rename the file with letters, digits, spaces and - _ . + = : @ , ( ) only',
      };
  }
  const fileName = segments[segments.length - 1]!;
  const file = landingFileOf(fileName);
  if (!file)
    return {
      ok: false,
      problem: `file name does not end in ${LANDING_SUFFIXES.join(', ')}`,
      fix: `name the file after its format: ${LANDING_SUFFIXES.map((x) => `*${x}`).join(', ')} (any letter case)`,
    };
  return { ok: true, dataset, fileName, format: file.format, gzip: file.gzip };
}

/**
 * Stable id of a landing key: `<stem>-<12 hex of sha256(key)>`, safe in paths, S3 prefixes and
 * SQL literals. Output objects are named by it, so a re-run (or a newer version) of the same key
 * replaces exactly its own output.
 */
export function sourceIdOf(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const base = landingFileOf(name)?.stem ?? name;
  const stem =
    base
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'file';
  return `${stem}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/** Stable id of one version of a key (versionId, else etag), safe in paths. */
export function versionTagOf(versionId: string | undefined, etag: string): string {
  return createHash('sha256')
    .update(versionId ?? `etag:${etag}`)
    .digest('hex')
    .slice(0, 12);
}

/** A partition folder `<identifier>=<value>/` (core/plan PARTITION_VALUE, kept in step with it). */
const CURATED_FOLDER = /^[a-z_][a-z0-9_]{0,127}=[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\/$/;

/** What follows the source id in a curated object's name: part 0, or part n ≥ 1. */
const CURATED_PART = /^(?:\.part-[0-9]{5,})?\.snappy\.parquet$/;

/** A curated object's file name: part 0 `<sourceId>.snappy.parquet`, part n `<sourceId>.part-0000n.snappy.parquet`. */
export function curatedFileName(sourceId: string, part = 0): string {
  if (!Number.isSafeInteger(part) || part < 0) throw new RangeError(`part ${part} is not a whole number ≥ 0`);
  return part === 0
    ? `${sourceId}.snappy.parquet`
    : `${sourceId}.part-${String(part).padStart(5, '0')}.snappy.parquet`;
}

/** Keys in the lake bucket. All built from safe ids, never from raw key text. */
export const lake = {
  /** Canonical valid rows of one version of one source file (JSON Lines, see core/staging). */
  stagingPrefix: (dataset: string, sourceId: string, versionTag: string) =>
    `staging/${dataset}/${sourceId}/${versionTag}/`,
  rejectsPrefix: (dataset: string, sourceId: string, versionTag: string) =>
    `rejects/${dataset}/${sourceId}/${versionTag}/`,
  curatedTablePrefix: (dataset: string) => `curated/${dataset}/`,
  /**
   * One object per (source file, partition value), replaced as a unit on re-run:
   * `curated/<dataset>/<key>=<value>/<sourceId>.snappy.parquet`, or with no partition (`key` null)
   * `curated/<dataset>/<sourceId>.snappy.parquet`. `value` is a checked partition value
   * (core/plan PARTITION_VALUE: a day, month, year or safe text). A partition with more rows than
   * the plan's maxRowsPerFile has more parts: part n ≥ 1 is `<sourceId>.part-0000n.snappy.parquet`
   * beside part 0 (source ids have no `.`, so no part name is another source's object).
   */
  curatedObject: (
    dataset: string,
    partitionKey: string | null,
    value: string | null,
    sourceId: string,
    part = 0,
  ) =>
    partitionKey === null
      ? `curated/${dataset}/${curatedFileName(sourceId, part)}`
      : `curated/${dataset}/${partitionKey}=${value}/${curatedFileName(sourceId, part)}`,
  /**
   * Whether `key` is one of `sourceId`'s curated objects in `dataset` (any part), under any
   * partition key (also one renamed since, or none): what a re-run may replace or remove, and
   * nothing else.
   */
  isCuratedObjectOf: (key: string, dataset: string, sourceId: string): boolean => {
    const table = `curated/${dataset}/`;
    if (!key.startsWith(table)) return false;
    const slash = key.lastIndexOf('/');
    const file = key.slice(slash + 1);
    if (!file.startsWith(`${sourceId}.`) || !CURATED_PART.test(file.slice(sourceId.length))) return false;
    const folder = key.slice(table.length, slash + 1);
    return folder === '' || CURATED_FOLDER.test(folder);
  },
  manifest: (dataset: string, sourceId: string) => `manifests/${dataset}/${sourceId}.json`,
  /** Quarantine and archive keep the original name under the dataset, plus the version tag. */
  quarantinePrefix: (dataset: string, sourceId: string, versionTag: string) =>
    `quarantine/${dataset}/${sourceId}/${versionTag}/`,
  archivePrefix: (dataset: string, sourceId: string, versionTag: string) =>
    `archive/${dataset}/${sourceId}/${versionTag}/`,
  /**
   * Quarantine for files no dataset can own (KEY_NOT_ALLOWED, UNKNOWN_DATASET): the key is not
   * safe (or not routable), so only its hash-based id names the folder; reason.json keeps the key.
   */
  unroutedQuarantinePrefix: (sourceId: string, versionTag: string) =>
    `quarantine/_unrouted/${sourceId}/${versionTag}/`,
};
