/**
 * Source definitions: `<schemas dir>/<name>.source.json`, beside the dataset contracts. One file
 * says where a pulled source's periods are (a URL template), how often one appears (cadence), the
 * first one (start), which dataset its files feed, and optional request headers whose secret
 * values come from Secrets Manager (never from the file).
 *
 * ```json
 * {
 *   "version": 1,
 *   "dataset": "github_events",
 *   "cadence": "hourly",
 *   "start": "2024-01-01T00:00:00Z",
 *   "url": "https://data.gharchive.org/{yyyy}-{MM}-{dd}-{H}.json.gz",
 *   "headers": { "Authorization": { "secret": "archive-token", "field": "token", "prefix": "Bearer " } }
 * }
 * ```
 * A broken definition is a {@link SourceDefinitionError} naming the file, the JSON pointer and the
 * fix, like a broken contract.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import { DATASET_NAME, datasetNameProblem } from '../core/dataset-name';
import { checkLandingKey, LANDING_PREFIX } from '../core/layout';
import type { SecretRef, SourcePeriod } from '../core/ports';
import { CADENCES, isAligned, parseTime, periodLabel, periodOf, type Cadence } from './periods';
import { templateExtension, templateProblem } from './url-template';

export const SOURCE_FILE_SUFFIX = '.source.json';

/** A header whose value is a secret: Secrets Manager on AWS, env or a secrets file locally. */
export interface SecretHeader extends SecretRef {
  /** Text put before the secret's value (`"Bearer "`). */
  readonly prefix?: string;
}

export interface SourceDefinition {
  /** The file's stem: `github-events` for `github-events.source.json`. */
  readonly name: string;
  /** The file it was read from (for messages). */
  readonly file: string;
  readonly dataset: string;
  readonly cadence: Cadence;
  /** The first period (aligned to the cadence). */
  readonly start: SourcePeriod;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | SecretHeader>>;
  /** How long after a period's end its file is expected to exist. */
  readonly publishDelayMs: number;
  /** Periods one invocation tries at most (catching up after a gap takes several). */
  readonly maxPeriodsPerRun: number;
  /** Retries of one period within an invocation after a 5xx, a timeout or a truncated body. */
  readonly retries: number;
  /** No byte (or no response) for this long fails the attempt. */
  readonly timeoutMs: number;
  /** 404s of a period that is not the newest due before it is given up as MISSING. */
  readonly missingAfterAttempts: number;
  /** The landing file's extension (`.json.gz`): from the URL unless set. */
  readonly extension: string;
}

export const SOURCE_DEFAULTS = {
  publishDelayMinutes: 0,
  maxPeriodsPerRun: 24,
  retries: 3,
  timeoutSeconds: 60,
  missingAfterAttempts: 6,
} as const;

/** The definition file's JSON Schema (docs: sources/README.md). */
export const SOURCE_SCHEMA = {
  $id: 'https://serverless-etl/source-definition-v1',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'dataset', 'cadence', 'start', 'url'],
  properties: {
    $schema: { type: 'string', description: 'Ignored (for editors).' },
    version: { const: 1, description: 'The definition format version.' },
    description: { type: 'string', description: 'Free text.' },
    dataset: { type: 'string', description: 'The dataset (contract) its files feed.' },
    cadence: { enum: [...CADENCES], description: 'How often a period appears (UTC).' },
    start: {
      type: 'string',
      description: 'The first period, e.g. 2024-01-01T00:00:00Z (UTC unless a zone is given).',
    },
    url: { type: 'string', description: 'URL template with {yyyy} {MM} {M} {dd} {d} {HH} {H}.' },
    headers: {
      type: 'object',
      description: 'Request headers: a text value, or a secret reference.',
      // Each value is checked on its own below (a string, or SECRET_HEADER_SCHEMA), so an error
      // names the exact field instead of "matches neither alternative".
      additionalProperties: true,
    },
    publishDelayMinutes: {
      type: 'integer',
      minimum: 0,
      maximum: 10080,
      default: SOURCE_DEFAULTS.publishDelayMinutes,
    },
    maxPeriodsPerRun: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: SOURCE_DEFAULTS.maxPeriodsPerRun,
    },
    retries: { type: 'integer', minimum: 0, maximum: 10, default: SOURCE_DEFAULTS.retries },
    timeoutSeconds: { type: 'integer', minimum: 1, maximum: 900, default: SOURCE_DEFAULTS.timeoutSeconds },
    missingAfterAttempts: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: SOURCE_DEFAULTS.missingAfterAttempts,
    },
    extension: {
      type: 'string',
      pattern: '^(\\.[a-z][a-z0-9]{0,9}){1,2}$',
      description: 'Landing file extension.',
    },
  },
} as const;

/** A header value that is a secret reference. */
export const SECRET_HEADER_SCHEMA = {
  $id: 'https://serverless-etl/source-secret-header-v1',
  type: 'object',
  additionalProperties: false,
  required: ['secret'],
  properties: {
    secret: { type: 'string', minLength: 1, description: 'Secrets Manager id (name or ARN).' },
    field: { type: 'string', minLength: 1, description: 'The field of a JSON secret.' },
    prefix: { type: 'string', description: 'Text before the value, e.g. "Bearer ".' },
  },
} as const;

/** A source definition is broken: the file, the JSON pointer, what is wrong and the fix. */
export class SourceDefinitionError extends Error {
  override readonly name = 'SourceDefinitionError';
  constructor(
    readonly file: string,
    readonly pointer: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${file}#${pointer}: ${problem}. Fix: ${fix}`);
  }
}

const ajv = new Ajv2020({ strict: true, allErrors: false });
const validate = ajv.compile(SOURCE_SCHEMA);
const validateSecretHeader = ajv.compile(SECRET_HEADER_SCHEMA);

function ajvProblem(file: string, err: ErrorObject, at = ''): SourceDefinitionError {
  if (at !== '') return ajvProblem(file, { ...err, instancePath: `${at}${err.instancePath}` });
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties':
      return new SourceDefinitionError(
        file,
        `${err.instancePath}/${String(p.additionalProperty)}`,
        'unknown field',
        `remove it or correct its spelling (allowed: ${Object.keys(
          err.instancePath === '' ? SOURCE_SCHEMA.properties : SECRET_HEADER_SCHEMA.properties,
        ).join(', ')})`,
      );
    case 'required':
      return new SourceDefinitionError(
        file,
        `${err.instancePath}/${String(p.missingProperty)}`,
        'missing',
        'add this field',
      );
    case 'enum':
      return new SourceDefinitionError(
        file,
        err.instancePath,
        'not an allowed value',
        `use one of ${JSON.stringify(p.allowedValues)}`,
      );
    case 'const':
      return new SourceDefinitionError(
        file,
        err.instancePath,
        'unsupported value',
        `set it to ${JSON.stringify(p.allowedValue)}`,
      );
    case 'type':
      return new SourceDefinitionError(
        file,
        err.instancePath,
        `must be a JSON ${String(p.type)}`,
        `write a JSON ${String(p.type)}`,
      );
    default:
      return new SourceDefinitionError(
        file,
        err.instancePath || '/',
        err.message ?? 'invalid',
        'see sources/README.md',
      );
  }
}

/**
 * Reads a definition from its text. `file` names it in messages and gives the source its name
 * (the stem before `.source.json`).
 * @throws SourceDefinitionError
 */
export function parseSourceDefinition(text: string, file: string): SourceDefinition {
  const base = path.basename(file);
  const name = base.endsWith(SOURCE_FILE_SUFFIX) ? base.slice(0, -SOURCE_FILE_SUFFIX.length) : base;
  if (!base.endsWith(SOURCE_FILE_SUFFIX))
    throw new SourceDefinitionError(
      base,
      '/',
      `the file name does not end in ${SOURCE_FILE_SUFFIX}`,
      `name it <source>${SOURCE_FILE_SUFFIX}`,
    );
  const nameProblem = datasetNameProblem(name);
  if (nameProblem)
    throw new SourceDefinitionError(
      base,
      '/',
      `"${name}" is not a valid source name: ${nameProblem}`,
      'rename the file',
    );
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SourceDefinitionError(
      base,
      '/',
      `not valid JSON (${(e as Error).message})`,
      'correct the JSON syntax',
    );
  }
  if (!validate(raw)) throw ajvProblem(base, validate.errors![0]!);
  const d = raw as {
    dataset: string;
    cadence: Cadence;
    start: string;
    url: string;
    headers?: Record<string, string | SecretHeader>;
    publishDelayMinutes?: number;
    maxPeriodsPerRun?: number;
    retries?: number;
    timeoutSeconds?: number;
    missingAfterAttempts?: number;
    extension?: string;
  };
  if (!DATASET_NAME.test(d.dataset))
    throw new SourceDefinitionError(
      base,
      '/dataset',
      `"${d.dataset}" is not a dataset name: ${datasetNameProblem(d.dataset)}`,
      'use the name of the dataset contract (<dataset>.schema.json)',
    );
  const startMs = parseTime(d.start);
  if (startMs === undefined)
    throw new SourceDefinitionError(
      base,
      '/start',
      `"${d.start}" is not a time`,
      'write an ISO time in UTC, e.g. 2024-01-01T00:00:00Z',
    );
  if (!isAligned(startMs, d.cadence))
    throw new SourceDefinitionError(
      base,
      '/start',
      `${new Date(startMs).toISOString()} is not the start of ${d.cadence === 'hourly' ? 'an hour' : 'a UTC day'}`,
      `use ${d.cadence === 'hourly' ? 'a whole hour (…T05:00:00Z)' : 'midnight UTC (…T00:00:00Z)'}`,
    );
  const problem = templateProblem(d.url, d.cadence);
  if (problem)
    throw new SourceDefinitionError(base, '/url', problem, 'see the placeholders in sources/README.md');
  for (const [header, value] of Object.entries(d.headers ?? {})) {
    const pointer = `/headers/${header.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header))
      throw new SourceDefinitionError(
        base,
        pointer,
        'not a valid HTTP header name',
        'use letters, digits and -',
      );
    if (typeof value !== 'string' && (typeof value !== 'object' || value === null || Array.isArray(value)))
      throw new SourceDefinitionError(
        base,
        pointer,
        'must be a string or {"secret": "<id>", "field"?, "prefix"?}',
        'write the value, or a secret reference',
      );
    if (typeof value === 'object' && !validateSecretHeader(value))
      throw ajvProblem(base, validateSecretHeader.errors![0]!, pointer);
    if (typeof value === 'string' && /[\r\n]/.test(value))
      throw new SourceDefinitionError(
        base,
        pointer,
        'a header value with a line break',
        'remove the line break',
      );
    if (typeof value === 'string' && /^(authorization|proxy-authorization|x-api-key|cookie)$/i.test(header))
      throw new SourceDefinitionError(
        base,
        pointer,
        'a credential written into the definition',
        'store it in Secrets Manager and write {"secret": "<id>"} here',
      );
  }
  const extension = d.extension ?? templateExtension(d.url);
  if (extension === undefined)
    throw new SourceDefinitionError(
      base,
      '/extension',
      'the URL has no file extension to name the landing files by',
      'add "extension", e.g. ".json.gz"',
    );
  const start = periodOf(startMs);
  const def: SourceDefinition = {
    name,
    file: base,
    dataset: d.dataset,
    cadence: d.cadence,
    start,
    url: d.url,
    headers: d.headers ?? {},
    publishDelayMs: (d.publishDelayMinutes ?? SOURCE_DEFAULTS.publishDelayMinutes) * 60_000,
    maxPeriodsPerRun: d.maxPeriodsPerRun ?? SOURCE_DEFAULTS.maxPeriodsPerRun,
    retries: d.retries ?? SOURCE_DEFAULTS.retries,
    timeoutMs: (d.timeoutSeconds ?? SOURCE_DEFAULTS.timeoutSeconds) * 1000,
    missingAfterAttempts: d.missingAfterAttempts ?? SOURCE_DEFAULTS.missingAfterAttempts,
    extension,
  };
  const check = checkLandingKey(landingKeyOf(def, start));
  if (!check.ok)
    throw new SourceDefinitionError(
      base,
      d.extension === undefined ? '/url' : '/extension',
      `its files would land as ${landingKeyOf(def, start)}, which the pipeline refuses: ${check.problem}`,
      `${check.fix}; or set "extension" to one the pipeline reads`,
    );
  return def;
}

/**
 * Where one period's file lands: `incoming/<dataset>/<source>-<label><extension>`, e.g.
 * `incoming/github_events/github-events-2024-01-01-05.json.gz`. One key per period, so a period
 * lands at most once (the put is create-only) and the pipeline names its output by it.
 */
export function landingKeyOf(
  def: Pick<SourceDefinition, 'name' | 'dataset' | 'cadence' | 'extension'>,
  period: SourcePeriod,
): string {
  return `${LANDING_PREFIX}${def.dataset}/${def.name}-${periodLabel(period, def.cadence)}${def.extension}`;
}

/** Reads `<file>`. @throws SourceDefinitionError (also when the file cannot be read) */
export function loadSourceDefinition(file: string): SourceDefinition {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SourceDefinitionError(
      path.basename(file),
      '/',
      `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      'check the path',
    );
  }
  return parseSourceDefinition(text, file);
}

/** The names of the definitions in `dir` (`<name>.source.json`), sorted. */
export function listSources(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(SOURCE_FILE_SUFFIX))
      .map((f) => f.slice(0, -SOURCE_FILE_SUFFIX.length))
      .sort();
  } catch {
    return [];
  }
}

/**
 * The definition of source `name` in `dir`.
 * @throws SourceDefinitionError when there is none (naming the ones there are) or it is broken
 */
export function findSourceDefinition(dir: string, name: string): SourceDefinition {
  const known = listSources(dir);
  if (!known.includes(name))
    throw new SourceDefinitionError(
      `${name}${SOURCE_FILE_SUFFIX}`,
      '/',
      `no such source in ${path.basename(dir)}/`,
      known.length > 0
        ? `use one of: ${known.join(', ')}`
        : `write ${name}${SOURCE_FILE_SUFFIX} beside the contracts (sources/README.md)`,
    );
  return loadSourceDefinition(path.join(dir, `${name}${SOURCE_FILE_SUFFIX}`));
}
