/**
 * statemachines/README.md's "Steps, ports and adapters" table is how a person gets from a state
 * name to its code in one hop: it must have a row for every Task state of the ASL, and every file
 * it names must exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');
const asl = JSON.parse(readFileSync(path.join(REPO, 'statemachines', 'pipeline.asl.json'), 'utf8')) as {
  States: Record<string, { Type: string }>;
};
const readme = readFileSync(path.join(REPO, 'statemachines', 'README.md'), 'utf8');

/** The table's rows: first cell (state names, comma-separated) → the rest of the row. */
function stateRows(): Map<string, string> {
  const section = readme.slice(readme.indexOf('| Task state'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [, first = '', ...rest] = line.split('|');
    for (const state of first.split(',')) rows.set(state.trim(), rest.join('|'));
  }
  return rows;
}

test('every Task state of the ASL has a row in the README table', () => {
  const tasks = Object.entries(asl.States)
    .filter(([, s]) => s.Type === 'Task')
    .map(([name]) => name);
  const rows = stateRows();

  expect(tasks.length).toBeGreaterThan(5);
  expect(tasks.filter((t) => !rows.has(t))).toEqual([]);
});

test('every file the README table names exists', () => {
  const files = [...stateRows().values()].flatMap((row) =>
    [...row.matchAll(/`([a-z0-9_./-]+\.(?:ts|py))`/g)].map((m) => m[1]!),
  );

  expect(files.length).toBeGreaterThan(10);
  expect(files.filter((f) => !existsSync(path.join(REPO, f)))).toEqual([]);
});
