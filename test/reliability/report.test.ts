/**
 * docs/reliability.md cannot drift from the code: every line of the bad-inputs catalogue (the copy
 * kept in docs/bad-inputs.md) has a row in its coverage table, and every test a row names exists in
 * the file it names. Test names built by describe.each/test.each are referenced by their template
 * (`a key with %s`) or by the case name the table holds in the file; either way the text must occur
 * in that file's source. A class whose feature is not built yet is marked so in its row, with the
 * issue that builds it (and that adds its test) — never a test that pretends.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './support';

const DOC = path.join(REPO, 'docs/reliability.md');
const COPY = path.join(REPO, 'docs/bad-inputs.md');
/**
 * The team's shared catalogue, in the folder beside the repository when a checkout has one. The
 * tests read only the copy; this one is compared with it so the copy is re-taken when it grows.
 */
const UPSTREAM = path.resolve(REPO, '..', 'shared', 'BAD_INPUTS.md');

/**
 * The catalogue as kept: a first line saying where it comes from, a blank line, then the shared
 * file verbatim (returned).
 */
function keptCatalogue(): string {
  const [origin, blank, ...body] = readFileSync(COPY, 'utf8').split('\n');
  expect(origin).toMatch(/^> Kept copy of the team's shared catalogue `BAD_INPUTS\.md`/);
  expect(blank).toBe('');
  return body.join('\n');
}

/** The bullet lines of the catalogue, without the leading "- ". */
function badInputLines(text: string): string[] {
  const lines: string[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith('- ')) lines.push(l.slice(2).trim());
    else if (/^\s+\S/.test(l) && lines.length > 0) lines[lines.length - 1] += ` ${l.trim()}`; // continuation
  }
  return lines;
}

/**
 * `**not built yet** (issue 14)` or `**not built yet** (issue 16, issue 13): the part not built` —
 * a class, or the named part of it, that waits for the issue that builds its feature.
 */
const NOT_BUILT = /^\*\*not built yet\*\* \((issue \d+(?:, issue \d+)*)\)(?:: (.+))?$/;

type Ref =
  | { readonly kind: 'test'; readonly file: string; readonly names: string[] }
  | { readonly kind: 'notBuilt'; readonly issues: number[]; readonly part?: string }
  | { readonly kind: 'unknown'; readonly text: string };

interface Row {
  readonly line: string;
  readonly refs: readonly Ref[];
  readonly outcome: string;
}

function parseRef(text: string): Ref {
  const notBuilt = NOT_BUILT.exec(text.trim());
  if (notBuilt)
    return {
      kind: 'notBuilt',
      issues: [...notBuilt[1]!.matchAll(/\d+/g)].map((m) => Number(m[0])),
      ...(notBuilt[2] === undefined ? {} : { part: notBuilt[2] }),
    };
  const parts = [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  if (parts.length === 0) return { kind: 'unknown', text };
  return { kind: 'test', file: parts[0]!, names: parts.slice(1) };
}

/** The coverage table: `| line | tests | outcome |` rows after the "## Coverage table" heading. */
function coverageRows(doc: string): Row[] {
  const section = doc.slice(
    doc.indexOf('## Coverage table'),
    doc.indexOf('\n## ', doc.indexOf('## Coverage table') + 1),
  );
  const table = section.split('\n').filter((l) => l.startsWith('| '));
  expect(table[1]).toMatch(/^\| ---/); // table[0] is the header
  return table.slice(2).map((l) => {
    const cells = l.slice(2, -2).split(' | ');
    expect(cells).toHaveLength(3);
    return { line: cells[0]!, refs: cells[1]!.split('<br>').map(parseRef), outcome: cells[2]! };
  });
}

describe('docs/reliability.md', () => {
  const doc = readFileSync(DOC, 'utf8');
  const rows = coverageRows(doc);

  test('the kept copy of BAD_INPUTS.md is the shared one (when the shared folder is present)', () => {
    const kept = keptCatalogue();
    expect(kept).toMatch(/^# What the pipeline must survive\n/);
    if (!existsSync(UPSTREAM)) return; // a clone has only the copy
    expect(kept).toBe(readFileSync(UPSTREAM, 'utf8'));
  });

  test('every BAD_INPUTS.md line has exactly one row, word for word', () => {
    const lines = badInputLines(keptCatalogue());
    expect(lines.length).toBeGreaterThanOrEqual(25);
    const missing = lines.filter((l) => rows.filter((r) => r.line === l).length !== 1);
    expect(missing).toEqual([]);
    expect(rows.map((r) => r.line).filter((l) => !lines.includes(l))).toEqual([]);
  });

  test('every referenced test exists in the file it names, and every row has an observed outcome', () => {
    const problems: string[] = [];
    for (const row of rows) {
      expect(row.refs.length).toBeGreaterThan(0);
      if (row.outcome.trim().length < 10) problems.push(`${row.line}: no observed outcome`);
      for (const ref of row.refs) {
        if (ref.kind === 'notBuilt') continue; // checked below
        if (ref.kind === 'unknown') {
          problems.push(
            `${row.line}: "${ref.text}" is neither \`file\` › \`test\` nor **not built yet** (issue N)`,
          );
          continue;
        }
        const file = path.join(REPO, ref.file);
        if (!/^test\/.+\.test\.ts$/.test(ref.file) || !existsSync(file)) {
          problems.push(`${row.line}: ${ref.file} is not a test file`);
          continue;
        }
        const source = readFileSync(file, 'utf8');
        if (ref.names.length === 0) problems.push(`${row.line}: ${ref.file} names no test`);
        for (const name of ref.names) {
          const quoted = [`'${name.replace(/'/g, "\\'")}'`, `"${name}"`, `\`${name}\``];
          if (!quoted.some((q) => source.includes(q)))
            problems.push(`${ref.file}: no test or case named "${name}"`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('a class not built yet names the issue that builds it, which part waits for it, and what that issue expects', () => {
    const problems: string[] = [];
    const notBuilt = rows.flatMap((row) =>
      row.refs.flatMap((ref) => (ref.kind === 'notBuilt' ? [{ row, ref }] : [])),
    );
    for (const { row, ref } of notBuilt) {
      // Alone in its row the marker covers the whole class; beside others it names its part,
      // in the catalogue's own words, so a reader sees what is tested and what is not.
      if (row.refs.length > 1 && ref.part === undefined)
        problems.push(`${row.line}: a marker beside other references must name the part not built`);
      if (ref.part !== undefined && !row.line.includes(ref.part))
        problems.push(`${row.line}: "${ref.part}" is not a part of this line`);
      // The outcome column says what the issue asks for, not an observation that cannot exist.
      if (!row.outcome.includes(`Expected (issue ${ref.issues[0]}`))
        problems.push(`${row.line}: the outcome has no "Expected (issue ${ref.issues[0]}): …"`);
    }
    expect(problems).toEqual([]);
  });

  test('every pinned gap in the suite is listed with its place and fix, and every listed gap has a pinned test', () => {
    const suite = readdirSync(__dirname)
      .filter((f) => f.endsWith('.test.ts') && f !== 'report.test.ts')
      .map((f) => readFileSync(path.join(__dirname, f), 'utf8'))
      .join('\n');
    const pinned = new Set([...suite.matchAll(/'(GAP-\d)[ab]? \(pinned/g)].map((m) => m[1]!));
    const listed = new Set([...doc.matchAll(/^\| (GAP-\d) \|/gm)].map((m) => m[1]!));
    const fixed = new Set([...doc.matchAll(/^\| (GAP-\d) \(fixed\) \|/gm)].map((m) => m[1]!));
    expect([...pinned].sort()).toEqual([...listed].sort());
    // A gap is open (pinned) or fixed, never both; and the gap table was found at all.
    expect([...listed].filter((g) => fixed.has(g))).toEqual([]);
    expect(listed.size + fixed.size).toBeGreaterThan(0);
  });
});
