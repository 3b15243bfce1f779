import { EXIT, type CliIo } from '../io';
import type { PipelineFlags } from './shared';

export async function reconcileCommand(_opts: PipelineFlags, _io: CliIo): Promise<number> {
  return EXIT.failed;
}
