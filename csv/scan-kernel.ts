/**
 * The checked fast path's byte pass in WebAssembly (csv/kernel/scan.c): the same split, checks and
 * good-record copy as {@link CheckedScanner.scanEnded}, from the same column programs
 * (byte-checks.ts `ColumnProgram`), written here into the kernel's column table. The JavaScript
 * scanner stays: it is the reference the kernel is tested against record by record
 * (test/validate/scan-kernel.test.ts), and the path for a contract the table cannot hold (a text
 * rule with no byte form, such as a text partition column's).
 *
 * Why WebAssembly: on one core the JavaScript pass was JIT-compiled while it ran (a cold 10 MB file
 * spent about half its time warming up), and its field loop cost ≈ 7 ns a byte; the kernel is
 * compiled before the first byte and reads 16 bytes a step (SIMD128). csv/README.md has the numbers.
 */
import type { ColumnProgram, PatternAtom } from './byte-checks';
import { CELL_NON_ASCII, CELL_QUOTED } from './byte-checks';
import { QUOTED_EMPTY, type Cell } from './csv-records';
import { SCAN_KERNEL_WASM } from './kernel/scan-wasm';
import { ScanProgress, type OnFailingRecord } from './scan-progress';

const MAX_FIELDS = 4096;
const PAGE = 65536;
/** Readable bytes after an input block's sentinel: the kernel's 16-byte loads stay in memory. */
const PAD = 64;
const KINDS: Record<string, number> = {
  string: 1,
  integer: 2,
  decimal: 3,
  double: 4,
  boolean: 5,
  date: 6,
  timestamp: 7,
};
const R_ENUM = 1;
const R_PATTERN = 2;
const R_EMAIL = 3;
/** The kernel's decline codes (scan.c), as the JavaScript scanner words them. */
const DECLINES = [
  '',
  'a quoted field left open at the end',
  'text after a closing quote',
  'a quote inside an unquoted field',
  'a line ending in CR alone',
  'a blank line',
  '', // a record longer than the limit: worded with it
  'a header spanning several lines',
];
const I32_MAX = 2 ** 31 - 1;
const clampI32 = (n: number) => (n > I32_MAX ? I32_MAX : n);

/** The WebAssembly API this uses (the project's TypeScript libraries do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;
/** The module, compiled once per process (≈ 8 KB; a few milliseconds). */
const kernelModule = () => (compiled ??= new wasm.Module(Buffer.from(SCAN_KERNEL_WASM, 'base64')));

/** Why the kernel cannot run these programs, or undefined when it can. */
export function kernelUnsupported(programs: readonly ColumnProgram[]): string | undefined {
  for (const p of programs)
    if (p.rules.some((r) => r.kernel === undefined))
      return `column ${JSON.stringify(p.column.name)}: a text rule with no byte form`;
  return undefined;
}

/** A little-endian image of the column table and its rule data, placed at `base` in memory. */
class TableImage {
  private bytes = new Uint8Array(4096);
  size = 0;
  constructor(private readonly base: number) {}

  /** Room for `n` bytes aligned to `align`: its absolute address. */
  alloc(n: number, align = 8): number {
    this.size = Math.ceil(this.size / align) * align;
    const at = this.size;
    this.size += n;
    if (this.size > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.size, this.bytes.length * 2));
      grown.set(this.bytes);
      this.bytes = grown;
    }
    return this.base + at;
  }

  i32s(values: readonly number[]): number {
    const at = this.alloc(values.length * 4, 4);
    const view = new DataView(this.bytes.buffer);
    values.forEach((v, k) => view.setInt32(at - this.base + k * 4, v, true));
    return at;
  }

  f64s(values: readonly number[]): number {
    const at = this.alloc(values.length * 8, 8);
    const view = new DataView(this.bytes.buffer);
    values.forEach((v, k) => view.setFloat64(at - this.base + k * 8, v, true));
    return at;
  }

  raw(data: Uint8Array, align = 1): number {
    const at = this.alloc(Math.max(1, data.length), align);
    this.bytes.set(data, at - this.base);
    return at;
  }

  image(): Uint8Array {
    return this.bytes.subarray(0, this.size);
  }
}

/**
 * A fixed pattern of at most 16 bytes whose every position allows one range of bytes, as the
 * kernel's 32-byte [lo × 16, hi × 16] (positions past the pattern allow every byte); else undefined.
 */
function rangesOf(sets: readonly Uint8Array[]): Uint8Array | undefined {
  if (sets.length === 0 || sets.length > 16) return undefined;
  const ranges = new Uint8Array(32);
  ranges.fill(255, 16);
  for (let k = 0; k < sets.length; k++) {
    const set = sets[k]!;
    const lo = set.indexOf(1);
    const hi = set.lastIndexOf(1);
    if (lo < 0 || set.subarray(lo, hi + 1).includes(0)) return undefined;
    ranges[k] = lo;
    ranges[16 + k] = hi;
  }
  return ranges;
}

function patternRule(t: TableImage, atoms: readonly PatternAtom[]): number {
  if (atoms.every((a) => a.min === a.max)) {
    const sets = atoms.flatMap((a) => Array.from({ length: a.min }, () => a.set));
    const table = new Uint8Array(Math.max(1, sets.length) * 256);
    sets.forEach((set, k) => table.set(set, k * 256));
    const tablePtr = t.raw(table);
    const ranges = rangesOf(sets);
    const rangesPtr = ranges ? t.raw(ranges, 16) : 0;
    return t.i32s([R_PATTERN, atoms.length, sets.length, tablePtr, rangesPtr]);
  }
  const refs = atoms.flatMap((a) => [t.raw(a.set), a.min, clampI32(a.max)]);
  return t.i32s([R_PATTERN, atoms.length, -1, 0, 0, ...refs]);
}

function enumRule(t: TableImage, options: readonly string[]): number {
  const all = [...new Set(options)].filter((o) => o !== '').map((o) => Buffer.from(o, 'utf8'));
  // Per first byte, the 1-based index of its first option; per option, the next with that byte.
  const first = new Array<number>(256).fill(0);
  const next = new Array<number>(all.length).fill(0);
  for (let k = all.length - 1; k >= 0; k--) {
    const b = all[k]![0]!;
    next[k] = first[b]!;
    first[b] = k + 1;
  }
  const firstPtr = t.i32s(first);
  const refs = all.flatMap((bytes, k) => [bytes.length, t.raw(bytes), next[k]!]);
  return t.i32s([R_ENUM, all.length, options.includes('') ? 1 : 0, firstPtr, ...refs]);
}

/** One instance of the kernel: its memory (kept, grown, reused) and the calls it makes to a scanner. */
interface KernelInstance {
  readonly memory: WasmMemory;
  readonly exports: {
    scan: (buf: number, from: number, n: number, final: number) => number;
    reset: () => void;
  };
  readonly cfgPtr: number;
  readonly statePtr: number;
  readonly fieldPtrs: { starts: number; ends: number; pairs: number; flags: number };
  readonly heapBase: number;
  /** The scanner using it, which the kernel's calls (failing, flush) reach. */
  user: KernelScanner | undefined;
  /**
   * Views of its field arrays, made again only when its memory grows; kept with the instance, so a
   * warm process's next file finds them (made per scanner, their first-call case threw the optimised
   * `cells` away in each new file).
   */
  views: FieldViews | undefined;
}

interface FieldViews {
  readonly buffer: ArrayBuffer;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly pairs: Int32Array;
  readonly flags: Uint8Array;
}

function fieldViews(k: KernelInstance): FieldViews {
  const buffer = k.memory.buffer;
  if (k.views?.buffer === buffer) return k.views;
  const { starts, ends, pairs, flags } = k.fieldPtrs;
  k.views = {
    buffer,
    starts: new Int32Array(buffer, starts, MAX_FIELDS),
    ends: new Int32Array(buffer, ends, MAX_FIELDS),
    pairs: new Int32Array(buffer, pairs, MAX_FIELDS),
    flags: new Uint8Array(buffer, flags, MAX_FIELDS),
  };
  return k.views;
}

/**
 * Instances no scanner uses. A warm Lambda container (or `etl watch`) validates file after file:
 * each takes an instance whose memory is already grown and touched, instead of a new one
 * (≈ 6 MB of fresh pages and an instantiation per file).
 */
const idle: KernelInstance[] = [];

function newInstance(): KernelInstance {
  const holder: { user: KernelScanner | undefined } = { user: undefined };
  const instance = new wasm.Instance(kernelModule(), {
    env: {
      failing: (start: number, end: number, line: number, fields: number, failing: number) =>
        holder.user!.kernelFailing(start, end, line, fields, failing),
      flush: () => holder.user!.kernelFlush(),
    },
  });
  const x = instance.exports as Record<string, unknown>;
  const call = (name: string) => (x[name] as () => number)();
  const k: KernelInstance = {
    memory: x.memory as WasmMemory,
    exports: x as unknown as KernelInstance['exports'],
    cfgPtr: call('cfg'),
    statePtr: call('state'),
    fieldPtrs: { starts: call('starts'), ends: call('ends'), pairs: call('pairs'), flags: call('flags') },
    heapBase: (x.__heap_base as { value: number }).value,
    views: undefined,
    get user() {
      return holder.user;
    },
    set user(u) {
      holder.user = u;
    },
  };
  return k;
}

/**
 * The checked scanner as the kernel: feed it blocks joined in its own memory ({@link join}); good
 * records reach `onOutput` as chunk-file bytes (`line,record\n`), the others `onFailing`.
 */
export class KernelScanner extends ScanProgress {
  private readonly kernel: KernelInstance;
  private readonly memory: WasmMemory;
  private readonly exports: KernelInstance['exports'];
  private readonly cfgPtr: number;
  private readonly statePtr: number;
  private readonly outPtr: number;
  private readonly outCap: number;
  private readonly inPtr: number;
  private inCap: number;
  /** The block being scanned (a view of the kernel's memory), for `onFailing` and {@link cells}. */
  private block: Buffer = Buffer.alloc(0);
  private state!: Int32Array;
  private readonly quoteChar: string;
  private readonly doubledQuote: string;

  constructor(
    dialect: { readonly delimiter: string; readonly quote: string },
    programs: readonly ColumnProgram[],
    /** Per contract column, its field in the record. */
    sourceIndex: readonly number[],
    private readonly maxRecordBytes: number,
    /** JSON Lines bytes of a staged row besides its values: keys, punctuation, `_line` key. */
    jsonPerRow: number,
    private readonly formulas: { readonly formulaSamplesFull: boolean },
    /** Good records as chunk-file bytes, with their count, `ChunkWriter` bytes, JSON bytes and longest line. */
    private readonly onOutput: (
      bytes: Buffer,
      rows: number,
      chunkBytes: number,
      json: number,
      longest: number,
    ) => void,
    /** A record for the JavaScript checker ({@link cells} reads its fields until the next record). */
    private readonly onFailing: OnFailingRecord,
  ) {
    super();
    const unsupported = kernelUnsupported(programs);
    if (unsupported) throw new Error(`the scan kernel cannot check ${unsupported}`);
    this.quoteChar = dialect.quote;
    this.doubledQuote = dialect.quote + dialect.quote;
    this.kernel = idle.pop() ?? newInstance();
    this.kernel.user = this;
    ({
      memory: this.memory,
      exports: this.exports,
      cfgPtr: this.cfgPtr,
      statePtr: this.statePtr,
    } = this.kernel);
    const heapBase = this.kernel.heapBase;

    const t = new TableImage(heapBase);
    const cols: number[] = [];
    const bounds: number[] = [];
    programs.forEach((p, c) => {
      const rules = p.rules.map((r) => {
        const k = r.kernel!;
        return 'enum' in k ? enumRule(t, k.enum) : 'atoms' in k ? patternRule(t, k.atoms) : t.i32s([R_EMAIL]);
      });
      const rulesPtr = rules.length > 0 ? t.i32s(rules) : 0;
      const row = new Array<number>(16).fill(0);
      row[0] = sourceIndex[c]!;
      row[1] = KINDS[p.column.type]!;
      row[2] = p.required ? 1 : 0;
      row[3] = p.column.type === 'string' ? 1 : 0;
      row[4] = p.hasLength ? 1 : 0;
      row[5] = clampI32(p.minLength);
      row[6] = clampI32(p.maxLength);
      row[7] = rules.length;
      row[8] = rulesPtr;
      row[9] = p.whole;
      row[10] = p.scale;
      row[11] = p.zoneOptional ? 1 : 0;
      cols.push(...row);
      const b = p.bounds;
      bounds.push(b.minimum, b.maximum, b.exclusiveMinimum, b.exclusiveMaximum);
    });
    const colsPtr = cols.length > 0 ? t.i32s(cols) : 0;
    const boundsPtr = bounds.length > 0 ? t.f64s(bounds) : 0;
    // The output region holds at least one record of the largest size the contract allows.
    this.outCap = Math.max(4 * 1024 * 1024, maxRecordBytes + 64);
    // After the table, not in its image (which is copied into memory).
    this.outPtr = Math.ceil((heapBase + t.size) / 16) * 16;
    this.inPtr = Math.ceil((this.outPtr + this.outCap) / 16) * 16;
    this.inCap = 0;
    this.ensure(this.inPtr + 2 * 1024 * 1024 + PAD);
    new Uint8Array(this.memory.buffer).set(t.image(), heapBase);
    const cfg = new Int32Array(this.memory.buffer, this.cfgPtr, 10);
    cfg.set([
      programs.length,
      dialect.quote.charCodeAt(0),
      dialect.delimiter.charCodeAt(0),
      maxRecordBytes,
      jsonPerRow,
      0,
      this.outPtr,
      this.outCap,
      colsPtr,
      boundsPtr,
    ]);
    this.exports.reset();
  }

  /** The kernel's instance back to the idle ones: call once the scan is over (its memory is reused). */
  release(): void {
    if (this.kernel.user !== this) return;
    this.kernel.user = undefined;
    idle.push(this.kernel);
  }

  /** The kernel's call for a record for the JavaScript checker. */
  kernelFailing(start: number, end: number, line: number, fields: number, failing: number): void {
    this.onFailing(this.block, start, end, line, fields, failing);
  }

  /** The kernel's call when its output region is full. */
  kernelFlush(): void {
    this.flush();
  }

  /** Memory up to `end`; views of the old memory are detached after a growth. */
  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.inCap = this.memory.buffer.byteLength - this.inPtr - PAD;
  }

  /** `head` then `block` in the kernel's input region, then the sentinel line feed: scan that. */
  join(head: Buffer, block: Buffer): Buffer {
    const n = head.length + block.length;
    if (n + 1 > this.inCap) {
      // head may be a view of this memory, which growing detaches
      const saved = Buffer.from(head);
      this.ensure(this.inPtr + (n + 1) * 2 + PAD);
      head = saved;
    }
    const memory = Buffer.from(this.memory.buffer, this.inPtr, n + 1 + PAD);
    // head may already lie at the region's start (the carry of the last block): copy-safe order
    head.copy(memory, 0);
    block.copy(memory, head.length);
    memory[n] = 10;
    memory.fill(0, n + 1);
    return memory.subarray(0, n + 1);
  }

  /**
   * {@link CheckedScanner.scanEnded} over a buffer from {@link join}: the offset of the first record
   * not complete, or -1 once declined.
   */
  scanEnded(buf: Buffer, final: boolean): number {
    if (buf.buffer !== this.memory.buffer || buf.byteOffset !== this.inPtr)
      throw new Error('scanEnded: scan a buffer from join()');
    if (this.kernel.user !== this) throw new Error('scanEnded: this scanner was released');
    const n = buf.length - 1;
    this.block = buf;
    this.state = new Int32Array(this.memory.buffer, this.statePtr, 12);
    new Int32Array(this.memory.buffer, this.cfgPtr, 10)[5] = this.formulas.formulaSamplesFull ? 1 : 0;
    const used = this.exports.scan(this.inPtr, 0, n, final ? 1 : 0);
    const s = this.state;
    this.flush();
    this.line = s[0]!;
    this.width = s[1]!;
    this.records += s[2]!;
    this.good += s[3]!;
    this.formulaCells += s[4]!;
    s[2] = s[3] = s[4] = 0;
    if (s[5]! !== 0 && this.declined === undefined) {
      const why = s[5] === 6 ? `a record longer than ${this.maxRecordBytes} bytes` : DECLINES[s[5]!]!;
      this.declined = `${why} (line ${s[6]!})`;
    }
    return used;
  }

  /** The output region to `onOutput`, emptied. */
  private flush(): void {
    const s = this.state;
    if (s[7]! > 0)
      this.onOutput(Buffer.from(this.memory.buffer, this.outPtr, s[7]!), s[8]!, s[9]!, s[10]!, s[11]!);
    s[7] = s[8] = s[9] = s[10] = s[11] = 0;
  }

  /**
   * As {@link CheckedScanner.cells}: the cells of the record `onFailing` was given. With the record's
   * bytes [start, end) and no cell beyond ASCII, the record is decoded once and its cells are cut
   * from that text (one native call instead of one per cell: half the cost of a rejected row's
   * cells on the 10 MB bench file).
   */
  cells(buf: Buffer, fields: number, start = -1, end = -1): Cell[] | undefined {
    if (fields > MAX_FIELDS) return undefined;
    const { starts, ends, pairs, flags } = fieldViews(this.kernel);
    let ascii = start >= 0;
    for (let f = 0; ascii && f < fields; f++) if ((flags[f]! & CELL_NON_ASCII) !== 0) ascii = false;
    const record = ascii ? buf.toString('latin1', start, end) : '';
    const cells: Cell[] = [];
    for (let f = 0; f < fields; f++) {
      const from = starts[f]!;
      const to = ends[f]!;
      const quoted = (flags[f]! & CELL_QUOTED) !== 0;
      if (quoted && from === to) {
        cells.push(QUOTED_EMPTY);
        continue;
      }
      const text = ascii ? record.substring(from - start, to - start) : buf.toString('utf8', from, to);
      cells.push(quoted && pairs[f]! > 0 ? text.replaceAll(this.doubledQuote, this.quoteChar) : text);
    }
    return cells;
  }
}
