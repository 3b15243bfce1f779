/**
 * What the checked fast path's byte pass reports as it goes, whichever scanner runs it: the
 * JavaScript `CheckedScanner` (checked-fast-path.ts) or the WebAssembly `KernelScanner`
 * (scan-kernel.ts).
 */
export abstract class ScanProgress {
  /** The physical line the next record starts on. */
  line = 1;
  /** The header's field count (after the first record). */
  width = -1;
  /** Why the pass declined (with its line), once it has. */
  declined: string | undefined;
  /** Records that passed every byte check and were copied. */
  good = 0;
  /** Data records split so far (the header not counted). */
  records = 0;
  /**
   * Formula-looking cells of the good records the scanner passed (not the ones it handed to the
   * JavaScript checker for the samples): the caller adds them to the report's count.
   */
  formulaCells = 0;
}

/**
 * A record for the JavaScript checker: its bytes [start, end) in `buf`, the line it starts on, and
 * how many fields it has (the scanner's `cells` reads them until the next record). `failing`: the
 * contract columns whose checks failed (bit i: column i; RowChecker.checkFailing), or 0 when the
 * whole record needs checking (a wrong field count, a formula sample, a cell only the JavaScript
 * checker can tell; the JavaScript scanner always passes 0).
 */
export type OnFailingRecord = (
  buf: Buffer,
  start: number,
  end: number,
  line: number,
  fields: number,
  failing: number,
) => void;
