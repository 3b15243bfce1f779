/**
 * Records crossing from the parsing thread to the checking thread, cheaply.
 *
 * Structured clone of an array of arrays of strings costs about as much as parsing them, so a batch
 * is one string plus two typed arrays (moved, not copied):
 *  - `text`: every cell of every record, each followed by a NUL. The byte inspector refuses NUL
 *    bytes before csv-parse sees them, so no cell can contain one;
 *  - `wideText` / `wide`: records holding a character beyond Latin-1 go into a second string
 *    (`wide` lists their indexes). One such character would make V8 store the whole batch, and
 *    every cell cut from it, two bytes per character: slower to copy, check and encode, where
 *    csv-parse on one thread gives one-byte strings for all other cells;
 *  - `counts[i]`: how many cells record i has (short and long rows are passed through unchanged);
 *  - `lines[i]`: the physical line record i starts on;
 *  - `quotedEmpty`: indexes (into the batch's cells) of quoted empty fields `""`, rare enough for
 *    a plain array.
 */
import { QUOTED_EMPTY, type Cell, type OnRecord, type ParseFailure } from './csv-records';

export interface RecordBatch {
  readonly text: string;
  readonly wideText: string;
  readonly wide: readonly number[];
  readonly counts: Uint32Array;
  readonly lines: Float64Array;
  readonly quotedEmpty: readonly number[];
  /** The records are followed by this csv-parse error; nothing after it was parsed. */
  readonly failure?: ParseFailure;
  /** The fast splitter left the file to csv-parse here (LeaveToCsvParseError); nothing after it was parsed. */
  readonly left?: { readonly why: string; readonly line: number };
  /** True for the batch that answers the end of the input. */
  readonly last: boolean;
}

/** Messages from the checking thread to the parsing thread. */
export type ParseRequest = { readonly chunk: Uint8Array } | { readonly end: true };

/** Messages from the parsing thread: a batch, or a crash that is not about the CSV. */
export type ParseReply = { readonly batch: RecordBatch } | { readonly crash: string };

const BEYOND_LATIN1 = /[\u0100-\uffff]/;

/** Gathers records into a {@link RecordBatch}. */
export class RecordBatchBuilder {
  private text = '';
  private wideText = '';
  private wide: number[] = [];
  private counts = new Uint32Array(4096);
  private lines = new Float64Array(4096);
  private quotedEmpty: number[] = [];
  private records = 0;
  private cells = 0;

  /** Adds one record; `hasQuotedEmpty` false promises it holds no {@link QUOTED_EMPTY}. */
  add(record: Cell[], line: number, hasQuotedEmpty: boolean): void {
    if (this.records === this.counts.length) this.grow();
    let joined = '';
    if (hasQuotedEmpty) {
      for (let i = 0; i < record.length; i++) {
        const cell = record[i]!;
        if (cell === QUOTED_EMPTY) {
          this.quotedEmpty.push(this.cells + i);
          joined += '\0';
        } else joined += `${cell}\0`;
      }
    } else if (record.length > 0) {
      joined = `${(record as string[]).join('\0')}\0`;
    }
    if (BEYOND_LATIN1.test(joined)) {
      this.wideText += joined;
      this.wide.push(this.records);
    } else this.text += joined;
    this.counts[this.records] = record.length;
    this.lines[this.records] = line;
    this.records++;
    this.cells += record.length;
  }

  /** The batch so far (the builder starts empty again), and the buffers to transfer with it. */
  take(
    last: boolean,
    failure?: ParseFailure,
    left?: RecordBatch['left'],
  ): { batch: RecordBatch; transfer: ArrayBuffer[] } {
    const counts = this.counts.slice(0, this.records);
    const lines = this.lines.slice(0, this.records);
    const batch: RecordBatch = {
      text: this.text,
      wideText: this.wideText,
      wide: this.wide,
      counts,
      lines,
      quotedEmpty: this.quotedEmpty,
      ...(failure && { failure }),
      ...(left && { left }),
      last,
    };
    this.text = '';
    this.wideText = '';
    this.wide = [];
    this.quotedEmpty = [];
    this.records = 0;
    this.cells = 0;
    return { batch, transfer: [counts.buffer, lines.buffer] };
  }

  private grow(): void {
    const counts = new Uint32Array(this.counts.length * 2);
    counts.set(this.counts);
    const lines = new Float64Array(this.lines.length * 2);
    lines.set(this.lines);
    this.counts = counts;
    this.lines = lines;
  }
}

/** Calls `onRecord` for each record of a batch, in order, with the cells csv-parse gave. */
export function forEachRecord(batch: RecordBatch, onRecord: OnRecord): void {
  const { text, wideText, wide, counts, lines, quotedEmpty } = batch;
  // Cut record by record (not one split of the whole batch): each record's cells then die young,
  // instead of a batch-wide array surviving, and being copied by, every scavenge while it is checked.
  let at = 0;
  let wideAt = 0;
  let nextWide = wide.length > 0 ? wide[0]! : -1;
  let w = 0;
  let cell = 0;
  let nextQuoted = quotedEmpty.length > 0 ? quotedEmpty[0]! : -1;
  let q = 0;
  for (let r = 0; r < counts.length; r++) {
    const isWide = r === nextWide;
    if (isWide) nextWide = ++w < wide.length ? wide[w]! : -1;
    const source = isWide ? wideText : text;
    let pos = isWide ? wideAt : at;
    const n = counts[r]!;
    const cells = new Array<Cell>(n);
    for (let k = 0; k < n; k++, cell++) {
      const end = source.indexOf('\0', pos);
      if (cell === nextQuoted) {
        cells[k] = QUOTED_EMPTY;
        nextQuoted = ++q < quotedEmpty.length ? quotedEmpty[q]! : -1;
      } else cells[k] = source.slice(pos, end);
      pos = end + 1;
    }
    if (isWide) wideAt = pos;
    else at = pos;
    onRecord(cells, lines[r]!);
  }
}
