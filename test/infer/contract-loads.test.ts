/** What `etl init` writes is a contract the pipeline loads: core/contract.ts parses each one. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseContract } from '../../core/contract';
import { inferContract } from '../../infer/infer';
import { datasetNameOf } from '../../infer/names';

const FIXTURES = path.resolve(__dirname, '../fixtures/real-world');

describe('inferred contracts load', () => {
  test.each(readdirSync(FIXTURES).filter((f) => f.endsWith('.csv')))(
    '%s: parseContract accepts the inferred contract as written',
    async (name) => {
      const inference = await inferContract(path.join(FIXTURES, name));
      const dataset = datasetNameOf(name)!;
      const contract = parseContract(dataset, JSON.stringify(inference.contract), `${dataset}.schema.json`);
      expect(contract.version).toBe(2);
      expect(contract.columns.map((c) => [c.name, c.source, c.type, c.required])).toEqual(
        inference.columns.map((c) => [c.name, c.source, c.type, c.required]),
      );
      expect(contract.primaryKey).toEqual(inference.key.columns);
      expect(contract.partition?.column ?? null).toBe(inference.partition.column);
      expect(contract.csv).toMatchObject({
        delimiter: inference.dialect.delimiter,
        relaxQuotes: inference.dialect.relaxQuotes,
      });
    },
  );
});
