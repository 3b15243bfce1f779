/**
 * docs/reliability.md cannot drift from the code: every line of BAD_INPUTS.md has a row in its
 * coverage table, and every test a row names exists in the file it names. Test names built by
 * describe.each/test.each are referenced by their template (`a key with %s`) or by the case name
 * the table holds in the file; either way the text must occur in that file's source.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './support';

const DOC = path.join(REPO, 'docs/reliability.md');
const SHARED = '/work/shared/BAD_INPUTS.md';
const COPY = path.join(REPO, 'test/fixtures/reliability/BAD_INPUTS.md');

/** The bullet lines of BAD_INPUTS.md, without the leading "- ". */
function badInputLines(text: string): string[] {
  const lines: string[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith('- ')) lines.push(l.slice(2).trim());
    else if (/^\s+\S/.test(l) && lines.length > 0) lines[lines.length - 1] += ` ${l.trim()}`; // continuation
  }
  return lines;
}

interface Row {
  readonly line: string;
  readonly refs: readonly { file: string; names: string[] }[];
  readonly outcome: string;
}

/** The coverage table: `| line | tests | outcome |` rows after the "## Coverage table" heading. */
function coverageRows(doc: string): Row[] {
  const section = doc.slice(
    doc.indexOf('## Coverage table'),
    doc.indexOf('\n## ', doc.indexOf('## Coverage table') + 1),
  );
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| BAD_INPUTS.md line'))
    .map((l) => {
      const cells = l.slice(2, -2).split(' | ');
      expect(cells).toHaveLength(3);
      const refs = cells[1]!.split('<br>').map((ref) => {
        const parts = [...ref.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
        return { file: parts[0]!, names: parts.slice(1) };
      });
      return { line: cells[0]!, refs, outcome: cells[2]! };
    });
}

describe('docs/reliability.md', () => {
  const doc = readFileSync(DOC, 'utf8');
  const rows = coverageRows(doc);

  test('the kept copy of BAD_INPUTS.md is the shared one (when the shared folder is present)', () => {
    if (!existsSync(SHARED)) return; // CI has only the copy
    expect(readFileSync(COPY, 'utf8')).toBe(readFileSync(SHARED, 'utf8'));
  });

  test('every BAD_INPUTS.md line has exactly one row, word for word', () => {
    const lines = badInputLines(readFileSync(existsSync(SHARED) ? SHARED : COPY, 'utf8'));
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
