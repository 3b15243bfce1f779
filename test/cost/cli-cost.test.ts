/**
 * The modeled cost reaches the person: `etl run` prints the total and the latency, `--json` and
 * `etl runs show --json` carry the whole model, `etl runs show` prints every line item.
 */
import path from 'node:path';
import type { RunCostModel } from '../../core/cost';
import { RunStore } from '../../local/run-record';
import { REPO, Sandbox } from '../cli/harness';

describe('etl run / etl runs show: modeled cost', () => {
  const box = new Sandbox('etl-cost-cli-');
  const sample = path.join(REPO, 'samples/registrations.csv');
  let runId: string;
  let cost: RunCostModel;

  beforeAll(async () => {
    const r = await box.etlJson<{ runId: string; cost: RunCostModel }>(['run', sample]);
    expect(r.code).toBe(0);
    runId = r.json.runId;
    cost = r.json.cost;
  });
  afterAll(() => box.remove());

  test('etl run --json carries the line items, the total (their sum) and the latency (its parts)', () => {
    expect(cost.lines.length).toBeGreaterThan(5);
    expect(cost.totalUsd).toBeCloseTo(
      cost.lines.reduce((s, l) => s + l.usd, 0),
      12,
    );
    expect(cost.latency.totalMs).toBe(cost.latency.parts.reduce((s, p) => s + p.ms, 0));
    expect(cost.pricesReadOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test('the run record holds the same model', () => {
    const record = new RunStore(path.join(box.home, 'runs')).load(runId);
    expect(record?.cost).toEqual(cost);
  });

  test('etl runs show prints every line item, the total and each latency part', async () => {
    const r = await box.etl(['runs', 'show', runId]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('modeled AWS cost');
    for (const l of cost.lines) expect(r.out).toContain(l.item);
    expect(r.out).toMatch(/^\s+total\s+\$0\.\d+/m);
    expect(r.out).toContain('modeled upload → queryable');
    for (const p of cost.latency.parts) expect(r.out).toContain(p.part);
  });

  test('etl run prints the total and the latency in its summary', async () => {
    const r = await box.etl(['run', sample]);
    expect(r.out).toMatch(/AWS cost\s+\$0\.\d+ modeled · upload→queryable /);
  });
});
