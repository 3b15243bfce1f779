/**
 * What a CLI command may touch of its process, passed in so tests run `main()` in-process with
 * captured output, their own working directory and environment, and a signal to stop `watch`.
 */
export interface CliIo {
  /** Writes to standard output (text as given; add your own newline). */
  readonly out: (text: string) => void;
  /** Writes to standard error. */
  readonly err: (text: string) => void;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Colours and live markers only on a terminal. */
  readonly isTTY: boolean;
  /** Ends long-running commands (`watch`) cleanly; the process entry point wires SIGINT to it. */
  readonly signal?: AbortSignal;
}

/** The real process. */
export function processIo(signal?: AbortSignal): CliIo {
  // `etl runs | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    cwd: process.cwd(),
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    ...(signal && { signal }),
  };
}

/**
 * Exit codes: the contract scripts and CI rely on. `usage` (sysexits EX_USAGE): the command
 * cannot run as given — a missing or broken dataset contract, a dataset name the rule refuses —
 * and nothing was started or recorded.
 */
export const EXIT = { ok: 0, failed: 1, rejected: 2, usage: 64 } as const;

/** A problem the user can fix: printed as `etl: <message>` without a stack, exit 1 (or `exitCode`). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}
