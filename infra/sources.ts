/**
 * The source definitions a pipeline pulls (issue 14): `<name>.source.json` beside its contracts
 * (sources/definition.ts), read at synth. A broken definition stops the synth with the file, the
 * field and the fix, like a broken contract; so does one that feeds a dataset the pipeline does not
 * process (its files would land where no contract reads them).
 */
import path from 'node:path';
import { listSources, loadSourceDefinition, type SourceDefinition } from '../sources/definition';
import { InfraConfigError, type PipelineConfig } from './config';

/**
 * The definitions in `config.schemasDir`: all of them, or the ones `names` lists.
 * @throws InfraConfigError for a name with no file, a broken file, or a dataset the pipeline lacks
 */
export function sourcesOfPipeline(
  config: Pick<PipelineConfig, 'schemasDir' | 'datasets'>,
  names?: readonly string[],
): SourceDefinition[] {
  const known = listSources(config.schemasDir);
  const wanted = names ?? known;
  const unknown = wanted.filter((n) => !known.includes(n));
  if (unknown.length > 0)
    throw new InfraConfigError(
      `EtlPipeline prop sources: no ${unknown.map((n) => `${n}.source.json`).join(', ')} in ${config.schemasDir}. Fix: ${known.length > 0 ? `use one of ${known.join(', ')}` : 'write the definition beside the contracts (sources/README.md), or leave "sources" out'}.`,
    );
  const datasets = config.datasets.map((d) => d.dataset);
  return wanted.map((name) => {
    const file = path.join(config.schemasDir, `${name}.source.json`);
    let def: SourceDefinition;
    try {
      def = loadSourceDefinition(file);
    } catch (e) {
      throw new InfraConfigError(`source definition ${(e as Error).message}`);
    }
    if (!datasets.includes(def.dataset))
      throw new InfraConfigError(
        `${def.file}#/dataset: "${def.dataset}" is not a dataset this pipeline processes (${datasets.join(', ')}). Fix: add ${def.dataset}.schema.json beside it (etl init), include it in "datasets", or correct "dataset".`,
      );
    return def;
  });
}
