/**
 * The local notifier: what SNS is on AWS. Each notice is appended to an outbox file (one JSON
 * object per line, so a crash mid-write never corrupts earlier notices) and shown on the terminal.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Notice, Notifier } from '../../core/ports';

export interface OutboxEntry extends Notice {
  readonly messageId: string;
  readonly publishedAt: string;
}

export interface LocalNotifierOptions {
  /** The outbox, e.g. `.etl/outbox.jsonl`. */
  readonly outboxFile: string;
  /** Where the terminal line goes. @default process.stderr.write; pass `() => {}` to stay quiet */
  readonly print?: (line: string) => void;
}

/** @example new LocalNotifier({ outboxFile: '.etl/outbox.jsonl' }) */
export class LocalNotifier implements Notifier {
  constructor(private readonly options: LocalNotifierOptions) {}

  async publish(notice: Notice): Promise<{ messageId: string }> {
    const entry: OutboxEntry = { messageId: randomUUID(), publishedAt: new Date().toISOString(), ...notice };
    await fs.mkdir(path.dirname(this.options.outboxFile), { recursive: true });
    await fs.appendFile(this.options.outboxFile, `${JSON.stringify(entry)}\n`);
    const print = this.options.print ?? ((line: string) => void process.stderr.write(`${line}\n`));
    print(`[notice] ${notice.subject}\n${notice.message}`);
    return { messageId: entry.messageId };
  }

  /** Every notice published so far, oldest first. */
  async read(): Promise<OutboxEntry[]> {
    const text = await fs.readFile(this.options.outboxFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as OutboxEntry);
  }
}
