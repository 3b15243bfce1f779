/**
 * Runs the `etl` CLI in-process through `main(argv, io)` against a throw-away home folder, so
 * scenarios are fast and their output is captured.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../cli/main';

export const FIXTURES = path.resolve(__dirname, '../fixtures/local');
export const REPO = path.resolve(__dirname, '../..');

export interface EtlResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** A temporary working directory with its own `.etl` home. */
export class Sandbox {
  readonly dir: string;

  constructor(prefix = 'etl-cli-') {
    this.dir = mkdtempSync(path.join(tmpdir(), prefix));
  }

  get home(): string {
    return path.join(this.dir, '.etl');
  }

  /** Copies a fixture (path under test/fixtures/local) into the sandbox; returns the copy's path. */
  copyFixture(fixture: string, as = fixture): string {
    const target = path.join(this.dir, as);
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(path.join(FIXTURES, fixture), target);
    return target;
  }

  /** `etl <args>` with this sandbox as working directory; resolves with exit code and output. */
  async etl(args: readonly string[], signal?: AbortSignal): Promise<EtlResult> {
    return this.start(args, signal).done;
  }

  /** Starts `etl <args>` and returns at once: for long-running commands such as `watch`. */
  start(args: readonly string[], signal?: AbortSignal): { done: Promise<EtlResult>; output: () => string } {
    let out = '';
    let err = '';
    const done = main(args, {
      out: (t) => (out += t),
      err: (t) => (err += t),
      cwd: this.dir,
      env: { ...process.env, ETL_HOME: this.home },
      isTTY: false,
      ...(signal && { signal }),
    }).then((code) => ({ code, out, err }));
    return { done, output: () => out };
  }

  /** `etl <args> --json`, parsed. */
  async etlJson<T = Record<string, unknown>>(
    args: readonly string[],
  ): Promise<{ code: number; json: T; err: string }> {
    const r = await this.etl([...args, '--json']);
    let json: T;
    try {
      json = JSON.parse(r.out) as T;
    } catch {
      throw new Error(
        `etl ${args.join(' ')} --json did not print one JSON object.\nstdout: ${r.out}\nstderr: ${r.err}`,
      );
    }
    return { code: r.code, json, err: r.err };
  }

  /** Resolves when `check` returns true, polling; fails after `timeoutMs` with `what`. */
  async until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
