/**
 * URL templates of pulled sources: `https://data.gharchive.org/{yyyy}-{MM}-{dd}-{H}.json.gz`.
 * Placeholders are replaced by the period's start in UTC; they stand only for digits, so an
 * expanded URL needs no escaping. Unknown placeholders are refused when the definition loads.
 */
import type { SourcePeriod } from '../core/ports';
import { periodStartMs, type Cadence } from './periods';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Every placeholder, what it stands for, and whether a daily source may use it. */
export const PLACEHOLDERS: Readonly<
  Record<string, { readonly means: string; readonly hourOnly: boolean; readonly value: (d: Date) => string }>
> = {
  yyyy: { means: 'year, 4 digits', hourOnly: false, value: (d) => pad(d.getUTCFullYear(), 4) },
  MM: { means: 'month 01-12', hourOnly: false, value: (d) => pad(d.getUTCMonth() + 1) },
  M: { means: 'month 1-12', hourOnly: false, value: (d) => String(d.getUTCMonth() + 1) },
  dd: { means: 'day of month 01-31', hourOnly: false, value: (d) => pad(d.getUTCDate()) },
  d: { means: 'day of month 1-31', hourOnly: false, value: (d) => String(d.getUTCDate()) },
  HH: { means: 'hour 00-23', hourOnly: true, value: (d) => pad(d.getUTCHours()) },
  H: { means: 'hour 0-23 (GH Archive style)', hourOnly: true, value: (d) => String(d.getUTCHours()) },
};

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * What is wrong with a template for `cadence`, in words a user can act on; undefined when it is
 * usable. Checks: an absolute http(s) URL, only known placeholders, no hour placeholder in a
 * daily source, and at least one placeholder per period unit, so two periods never share a URL.
 */
export function templateProblem(template: string, cadence: Cadence): string | undefined {
  const names = [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
  const unknown = names.filter((n) => !(n in PLACEHOLDERS));
  if (unknown.length > 0)
    return `unknown placeholder ${unknown.map((n) => `{${n}}`).join(', ')}; known: ${Object.keys(PLACEHOLDERS)
      .map((n) => `{${n}}`)
      .join(' ')}`;
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) return 'a "{" or "}" that is not part of a placeholder';
  let url: URL;
  try {
    url = new URL(template.replace(PLACEHOLDER, '0'));
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `scheme ${url.protocol} is not http(s)`;
  if (cadence === 'daily' && names.some((n) => PLACEHOLDERS[n]!.hourOnly))
    return 'a daily source cannot use an hour placeholder ({HH}, {H}): it is always 0';
  const has = (...alts: string[]) => alts.some((a) => names.includes(a));
  const missing = [
    !has('yyyy') && '{yyyy}',
    !has('MM', 'M') && '{MM}',
    !has('dd', 'd') && '{dd}',
    cadence === 'hourly' && !has('HH', 'H') && '{HH} or {H}',
  ].filter((x): x is string => x !== false);
  if (missing.length > 0)
    return `it lacks ${missing.join(', ')}, so two ${cadence === 'hourly' ? 'hours' : 'days'} would have the same URL`;
  return undefined;
}

/** The URL of one period. */
export function expandTemplate(template: string, period: SourcePeriod): string {
  const d = new Date(periodStartMs(period));
  return template.replace(PLACEHOLDER, (_all, name: string) => {
    const p = PLACEHOLDERS[name];
    if (!p) throw new Error(`unknown placeholder {${name}}`);
    return p.value(d);
  });
}

/**
 * The file extension the template's last path segment ends in (`.json.gz`, `.jsonl`, `.csv`):
 * up to two dot-separated suffixes of letters and digits. Undefined when it has none.
 */
export function templateExtension(template: string): string | undefined {
  const pathPart = template.split(/[?#]/)[0]!;
  const last = pathPart.slice(pathPart.lastIndexOf('/') + 1).replace(PLACEHOLDER, '0');
  return /(\.[A-Za-z][A-Za-z0-9]{0,9}){1,2}$/.exec(last)?.[0]?.toLowerCase();
}
