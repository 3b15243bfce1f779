import { EXIT, type CliIo } from '../io';
import type { PipelineFlags } from './shared';

export async function watchCommand(
  _opts: PipelineFlags & { concurrency: number; settleMs: number },
  _io: CliIo,
): Promise<number> {
  return EXIT.failed;
}
