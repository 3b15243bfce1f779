/**
 * The local SourceLedger's conditions (core/ports SourceLedger): what each owner may do to a
 * period, the conditional bookmark, leases, and a lock left by a killed process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalSourceLedger } from '../../adapters/local/source-ledger';
import { SourceLeaseLostError } from '../../core/errors';

const P0 = '2024-01-01T00:00:00Z';
const P1 = '2024-01-01T01:00:00Z';
let dir: string;
let clock = 1_000_000;
const ledger = () => new LocalSourceLedger(dir, () => clock);
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'etl-source-ledger-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a claim holds against other owners until its lease ends; the owner may claim again', async () => {
  const l = ledger();
  expect(await l.claim('s', P0, 'a', clock + 100)).toBe(true);
  expect(await l.claim('s', P0, 'b', clock + 100)).toBe(false);
  expect(await l.claim('s', P0, 'a', clock + 200)).toBe(true);
  clock += 201;
  expect(await l.claim('s', P0, 'b', clock + 100)).toBe(true);
  expect(await l.get('s', P0)).toMatchObject({ status: 'CLAIMED', owner: 'b' });
});

test('only the owner completes; DONE is final', async () => {
  const l = ledger();
  await l.claim('s', P0, 'a', clock + 100);
  await expect(l.complete('s', P0, 'b', { key: 'k', bytes: 1 })).rejects.toThrow(SourceLeaseLostError);
  await l.complete('s', P0, 'a', { key: 'k', bytes: 1, etag: 'e' });
  expect(await l.get('s', P0)).toMatchObject({ status: 'DONE', landed: { key: 'k', bytes: 1, etag: 'e' } });
  clock += 10_000;
  expect(await l.claim('s', P0, 'b', clock + 100)).toBe(false);
  await expect(l.markMissing('s', P0, 'a', 'x')).rejects.toThrow(SourceLeaseLostError);
});

test('release counts an attempt only with an error, and ignores a lost claim', async () => {
  const l = ledger();
  await l.claim('s', P0, 'a', clock + 100);
  await l.release('s', P0, 'a');
  expect(await l.get('s', P0)).toMatchObject({ status: 'RELEASED', attempts: 0 });
  await l.claim('s', P0, 'a', clock + 100);
  await l.release('s', P0, 'a', 'HTTP 500');
  expect(await l.get('s', P0)).toMatchObject({ status: 'RELEASED', attempts: 1, lastError: 'HTTP 500' });
  await l.claim('s', P0, 'b', clock + 100);
  await l.release('s', P0, 'a', 'late'); // a's claim is gone: nothing changes
  expect(await l.get('s', P0)).toMatchObject({ status: 'CLAIMED', owner: 'b', attempts: 1 });
  await l.markMissing('s', P0, 'b', 'gone');
  expect(await l.get('s', P0)).toMatchObject({ status: 'MISSING', attempts: 2, lastError: 'gone' });
  expect(await l.claim('s', P0, 'c', clock + 100)).toBe(true); // an explicit re-pull may claim it
});

test('the bookmark moves only from the value the caller saw', async () => {
  const l = ledger();
  expect(await l.bookmark('s')).toBeUndefined();
  expect(await l.advance('s', undefined, P0)).toBe(true);
  expect(await l.advance('s', undefined, P1)).toBe(false);
  expect(await l.advance('s', P0, P1)).toBe(true);
  expect(await l.bookmark('s')).toBe(P1);
  expect(await l.bookmark('other')).toBeUndefined();
});

test('concurrent claims of one period in one process: exactly one wins', async () => {
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => ledger().claim('s', P0, `o${i}`, clock + 100)),
  );
  expect(results.filter(Boolean)).toHaveLength(1);
});

test('a lock left by a process that is gone is taken over', async () => {
  const l = ledger();
  await l.advance('s', undefined, P0);
  // A pid far above pid_max on Linux: no such process.
  writeFileSync(path.join(dir, 's.lock'), '99999999 left-behind');
  expect(await l.advance('s', P0, P1)).toBe(true);
  expect(JSON.parse(readFileSync(l.fileOf('s'), 'utf8'))).toMatchObject({ bookmark: P1 });
});

test('names that are not source names or periods never reach a path', async () => {
  const l = ledger();
  expect(() => l.fileOf('../x')).toThrow(/not a source name/);
  await expect(l.get('s', '2024-01-01')).rejects.toThrow(/not a period/);
});
