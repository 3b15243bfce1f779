/**
 * Dot paths into JSON objects (`actor.login`), shared by the contract loader (a column's `path`)
 * and the JSON reader (csv/json-flatten.ts re-exports these). A `.` or `\` inside a key is written
 * `\.` / `\\`; arrays are not indexed.
 */

/** `actor.login` → `['actor', 'login']`; `\.` and `\\` are a literal `.` and `\` in a key. */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  let key = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (ch === '\\' && i + 1 < path.length) key += path[++i];
    else if (ch === '.') {
      out.push(key);
      key = '';
    } else key += ch;
  }
  out.push(key);
  return out;
}

/** The inverse of {@link splitPath}: keys joined by `.`, with `.` and `\` in a key escaped. */
export function joinPath(keys: readonly string[]): string {
  return keys.map((k) => k.replace(/[\\.]/g, (c) => `\\${c}`)).join('.');
}

/** Why a path is not a valid column path, or undefined. */
export function pathProblem(path: string): string | undefined {
  if (path === '') return 'the path is empty';
  if (/\\$/.test(path.replace(/\\\\/g, ''))) return 'the path ends in a lone "\\"';
  if (splitPath(path).some((k) => k === ''))
    return 'the path has an empty key (two dots in a row, or a dot at an end)';
  return undefined;
}
