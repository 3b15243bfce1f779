/**
 * The Glue job carries its own copy of core/plan `canonicalPattern` (it runs on Glue without
 * Node). The two must accept exactly the same text, or the engines would refuse different files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { canonicalPattern, type PlanType } from '../../core/plan';
import { REPO_ROOT, VENV_PYTHON, requirePythonSide } from '../support/python';

const TYPES: PlanType[] = [
  { type: 'string' },
  { type: 'integer' },
  { type: 'double' },
  { type: 'boolean' },
  { type: 'date' },
  { type: 'timestamp' },
  { type: 'decimal', precision: 1, scale: 0 },
  { type: 'decimal', precision: 5, scale: 5 },
  { type: 'decimal', precision: 12, scale: 2 },
  { type: 'decimal', precision: 38, scale: 0 },
  { type: 'decimal', precision: 38, scale: 38 },
];

const pythonAvailable = existsSync(VENV_PYTHON) || requirePythonSide('spark', 'canonical pattern parity');

if (pythonAvailable) {
  test('glue/etl_job.py canonical_pattern equals core/plan canonicalPattern for every type', () => {
    const script =
      'import json, sys; sys.path.insert(0, "glue"); import etl_job; ' +
      'print(json.dumps([etl_job.canonical_pattern(t) for t in json.load(sys.stdin)]))';
    const result = spawnSync(VENV_PYTHON, ['-c', script], {
      cwd: REPO_ROOT,
      input: JSON.stringify(TYPES),
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    const fromPython = JSON.parse(result.stdout) as (string | null)[];
    expect(fromPython).toEqual(TYPES.map((t) => canonicalPattern(t) ?? null));
  });
}
