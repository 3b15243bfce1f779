/** The local notifier keeps every notice in an outbox file, in order, and shows it on the terminal. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalNotifier } from '../../adapters/local/notifier';

test('notices are appended to the outbox as JSON lines and printed', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'outbox-'));
  const printed: string[] = [];
  const notifier = new LocalNotifier({
    outboxFile: path.join(dir, 'etl/outbox.jsonl'),
    print: (l) => printed.push(l),
  });

  const first = await notifier.publish({
    subject: 'serverless-etl SUCCEEDED: registrations',
    message: '{"rowsOut":9}',
  });
  await notifier.publish({
    subject: 'serverless-etl REJECTED: EMPTY_FILE',
    message: '{}',
    attributes: { status: 'REJECTED' },
  });

  const lines = readFileSync(path.join(dir, 'etl/outbox.jsonl'), 'utf8').trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(JSON.parse(lines[0]!)).toMatchObject({ messageId: first.messageId, message: '{"rowsOut":9}' });
  expect((await notifier.read()).map((n) => n.attributes?.status)).toEqual([undefined, 'REJECTED']);
  expect(printed[1]).toContain('REJECTED: EMPTY_FILE');
  rmSync(dir, { recursive: true, force: true });
});
