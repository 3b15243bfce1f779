/**
 * The rule for dataset names (the key segment after `incoming/`, the contract file's stem).
 * A module of its own so that code needing only the name rule (core/layout, and through it every
 * step) does not load the contract loader and ajv: ≈150 KB less in each Lambda bundle that never
 * reads a contract.
 *
 * Hyphens are allowed (`seattle-weather`), but never two in a row: landing keys containing `--`
 * are refused (core/layout), since `--` starts a SQL comment. The table name is derived from the
 * dataset with `-` → `_` (core/contract tableNameOf), so no dataset name ever reaches SQL as is.
 */
export const DATASET_NAME = /^[a-z](?:[a-z0-9_]|-(?!-)){0,62}$/;

/**
 * Why `name` is not a dataset name, in words a user can act on; undefined when it is one.
 * @example datasetNameProblem('Seattle Weather') // 'it has upper-case letters and a space ...'
 */
export function datasetNameProblem(name: string): string | undefined {
  if (DATASET_NAME.test(name)) return undefined;
  const problems: string[] = [];
  if (name === '') return 'it is empty';
  if (!/^[a-z]/.test(name)) problems.push('it does not start with a lower-case letter');
  if (/[A-Z]/.test(name)) problems.push('it has upper-case letters');
  if (name.includes(' ')) problems.push('it has spaces');
  if (name.includes('--')) problems.push('it has two hyphens in a row ("--" is refused in landing keys)');
  if (name.length > 63) problems.push(`it is ${name.length} characters long (at most 63)`);
  const other = [...new Set(name.replace(/[a-zA-Z0-9_ -]/g, ''))];
  if (other.length > 0)
    problems.push(`it has the character(s) ${other.map((c) => JSON.stringify(c)).join(' ')}`);
  const rule =
    'dataset names are a lower-case letter, then lower-case letters, digits, "_" or single "-", at most 63 characters';
  return `${problems.length > 0 ? problems.join(', ') : 'it breaks the rule'}; ${rule}`;
}

/** A name the rule accepts, made from `name` (lower-case, other characters → `_`), or undefined. */
export function suggestedDatasetName(name: string): string | undefined {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/-{2,}/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63);
  return DATASET_NAME.test(s) ? s : undefined;
}
