/**
 * A deterministic, streaming generator of community-event registration CSVs for
 * `schemas/registrations.schema.json`. It makes the sample (samples/registrations.csv) and the
 * benchmark inputs (10 MiB … 1 GiB under .bench/), so both exercise the same features:
 *
 *  - a header in a different order than the contract (the contract's header policy is `anyOrder`);
 *  - event dates spread over every day of 2024 (the partition column; the shipped contract partitions
 *    by month: 12 partitions), or over `years` years ending with 2024 (a multi-year file);
 *  - `registered_at` written with `Z`, with `+02:00`, and without a zone (the contract's
 *    defaultTimezone, UTC, applies), some with milliseconds;
 *  - notes with commas, quotes, embedded LF and CRLF, unicode and emoji, some empty (unquoted
 *    empty = null, quoted `""` = empty string), and a few spreadsheet-formula notes
 *    (`=HYPERLINK(...)`, `+…`, `-…`, `@…`, tab) that are VALID strings the validate step flags;
 *  - invalid rows of known kinds, each with exactly one defect, so counts are exact;
 *  - duplicate registration ids whose winner is known: a later `registered_at` later in the file,
 *    a later `registered_at` earlier in the file (order beats position), and exact ties written
 *    in different zone notations (the last line wins, as the contract's tieBreaker says).
 *
 * Same options and seed → the same bytes, on every machine (a seeded PRNG, no clock, no locale).
 * Memory is constant: rows are produced one at a time, duplicates come from a bounded window of
 * recent rows, and the stats keep only counters and the set of dates seen (at most one per event).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** The contract's columns, in the order this generator writes them (not the contract's order). */
export const GENERATED_HEADER = [
  'registration_id',
  'event_id',
  'event_date',
  'attendee_email',
  'ticket_type',
  'quantity',
  'amount',
  'currency',
  'registered_at',
  'notes',
] as const;

/** Every kind of invalid row the generator writes. Each such row has exactly this one defect. */
export const INVALID_KINDS = [
  'bad_email',
  'unknown_ticket_type',
  'negative_amount',
  'over_scale_amount',
  'nonexistent_date',
  'zero_quantity',
  'unknown_currency',
  'short_row',
  'long_row',
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

/** How a duplicate registration id relates to the row it repeats, and so which one wins. */
export const DUPLICATE_KINDS = [
  /** Written later, registered later: the duplicate wins. */
  'laterRowWins',
  /** Written later but registered earlier: the ORIGINAL wins (dedupe orders by registered_at). */
  'earlierRowWins',
  /** Same instant (often in another zone notation): tie → the last line wins. */
  'exactTie',
] as const;
export type DuplicateKind = (typeof DUPLICATE_KINDS)[number];

export interface RegistrationsOptions {
  /** Number of data rows (records, not physical lines). Exactly one of rows / targetBytes. */
  readonly rows?: number;
  /** Stop at the first record that brings the file to at least this many bytes. */
  readonly targetBytes?: number;
  /** PRNG seed (any 32-bit integer). @default 1 */
  readonly seed?: number;
  /** Share of rows (0..1) written with one defect. @default 0.025 */
  readonly invalidShare?: number;
  /** Share of rows (0..1) that repeat an earlier registration id. @default 0.03 */
  readonly duplicateShare?: number;
  /**
   * Event dates spread over this many calendar years ending with 2024 (1: every day of 2024).
   * The 1,200 events keep their one date each, so a ten-year file has at most 1,200 distinct
   * dates over 120 months. @default 1
   */
  readonly years?: number;
}

/** What was written, counted as it was written. */
export interface GenerationStats {
  readonly seed: number;
  /** Data records (the header is not a row). */
  rows: number;
  bytes: number;
  /** Physical lines, header included (notes with embedded newlines span several). */
  lines: number;
  validRows: number;
  invalidRows: number;
  invalidByKind: Record<InvalidKind, number>;
  /** Valid rows that repeat the registration id of an earlier valid row. */
  duplicateRows: number;
  duplicatesByKind: Record<DuplicateKind, number>;
  /** Distinct registration ids among valid rows = rows the curated table gets. */
  distinctValidIds: number;
  /** Distinct event dates among valid rows (= partitions of a contract partitioned by day). */
  eventDates: number;
  /**
   * Distinct event months among valid rows = partitions the curated table gets (the shipped
   * contract partitions event_date by month).
   */
  eventMonths: number;
  /** Valid rows whose notes start with = + - @ or tab (stored as text, flagged by validate). */
  formulaNotes: number;
  /** Valid rows whose notes span several physical lines. */
  multilineNotes: number;
  /** Valid rows with an unquoted empty notes cell (null). */
  nullNotes: number;
}

/** One registration before it is written: times are UTC epoch milliseconds. */
interface Registration {
  readonly id: number;
  readonly event: number;
  readonly email: string;
  readonly ticket: string;
  readonly quantity: number;
  readonly amountCents: number;
  readonly currency: string;
  readonly registeredAtMs: number;
  readonly notes: string | null;
}

/** mulberry32: tiny, fast, and identical on every platform (Math.random is not seedable). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY_MS = 86_400_000;
const LAST_YEAR = 2024;
const EVENT_COUNT = 1200;
/** How far back duplicates may reach. Bounded so memory stays constant at any size. */
const DUPLICATE_WINDOW = 512;

const FIRST_NAMES = [
  'anna',
  'ben',
  'chloe',
  'david',
  'emma',
  'farid',
  'greta',
  'hiro',
  'ines',
  'jonas',
  'kemal',
  'lena',
  'marta',
  'nils',
  'olga',
  'pablo',
  'quinn',
  'rosa',
  'sven',
  'tariq',
  'ulla',
  'vera',
  'wen',
  'xavier',
  'yara',
  'zoe',
];
const LAST_NAMES = [
  'muller',
  'schmidt',
  'rossi',
  'garcia',
  'nowak',
  'dubois',
  'jensen',
  'tanaka',
  'silva',
  'kowalski',
  'smith',
  'novak',
  'larsen',
  'weber',
  'moreau',
  'santos',
  'olsen',
  'khan',
];
const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'events.example.de', 'uni.example.edu'];

/** Ticket types with weights (out of 100) and unit price in cents. */
const TICKETS: ReadonlyArray<readonly [string, number, number]> = [
  ['general', 55, 4900],
  ['student', 15, 1900],
  ['vip', 10, 19900],
  ['speaker', 8, 0],
  ['sponsor', 4, 250000],
  ['volunteer', 8, 0],
];
/** Currencies with weights (out of 100). JPY amounts are whole numbers, like real yen. */
const CURRENCIES: ReadonlyArray<readonly [string, number]> = [
  ['EUR', 45],
  ['USD', 15],
  ['GBP', 8],
  ['CHF', 6],
  ['SEK', 4],
  ['NOK', 3],
  ['DKK', 3],
  ['PLN', 4],
  ['CZK', 3],
  ['CAD', 3],
  ['AUD', 3],
  ['JPY', 3],
];

const PLAIN_NOTES = [
  'vegetarian',
  'needs wheelchair access',
  'arrives late, after the keynote',
  'bringing a colleague; invoice to ACME GmbH, Dept. 4',
  'asked for the "early bird" rate',
  'Zoë from Malmö — gluten-free, please',
  'allergique aux noix, merci',
  'Grüße aus München',
  '日本語の資料を希望',
  'first time attending 🎉',
  'T-shirt size: M, "slim fit"',
  'pays by bank transfer; ref 2024/118',
  '   leading and trailing spaces kept   ',
];
const MULTILINE_NOTES = [
  'line one\nline two',
  'Dietary:\n- vegan\n- no soy',
  'Address for the invoice:\r\nMain Street 1, 1000 Brussels',
  'quote "inside",\nand a comma',
];
const FORMULA_NOTES = [
  '=HYPERLINK("http://attacker.example/x","click me")',
  '=1+2',
  '+49 30 1234567',
  '-5% discount code used',
  '@channel please call back',
  "\t=cmd|' /C calc'!A0",
];

function isFormulaText(s: string): boolean {
  return /^[=+\-@\t\r]/.test(s);
}

/** Quotes a cell only when CSV needs it (RFC 4180: delimiter, quote, CR or LF inside). */
function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function dateOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Event `n` (1-based) always happens on the same day: event_id → event_date is consistent. The
 * days are spread over `years` calendar years ending with 2024 (one year: every day of 2024).
 */
function eventDayMs(event: number, years: number): number {
  const start = Date.UTC(LAST_YEAR - years + 1, 0, 1);
  const days = (Date.UTC(LAST_YEAR + 1, 0, 1) - start) / DAY_MS;
  return start + ((event * 37) % days) * DAY_MS;
}

/** event_date text of every event, computed once per span (Date formatting was a sixth of the generator's time). */
function eventDates(years: number): readonly string[] {
  return Array.from({ length: EVENT_COUNT + 1 }, (_, event) => dateOf(eventDayMs(event, years)));
}
const EVENT_DATES_2024 = eventDates(1);

function amountText(cents: number, currency: string): string {
  if (currency === 'JPY') return String(Math.round(cents / 100));
  return `${Math.floor(cents / 100)}.${pad(cents % 100, 2)}`;
}

/**
 * Writes registrations as CSV text, one record at a time. Iterate {@link RegistrationsGenerator.chunks}
 * and read {@link RegistrationsGenerator.stats} when it is done.
 *
 * @example
 * const gen = new RegistrationsGenerator({ rows: 3000, seed: 20240229 });
 * const text = [...gen.chunks()].join('');
 * console.log(gen.stats.invalidRows);
 */
export class RegistrationsGenerator {
  readonly stats: GenerationStats;
  private readonly random: () => number;
  private readonly options: Required<Omit<RegistrationsOptions, 'rows' | 'targetBytes'>> &
    Pick<RegistrationsOptions, 'rows' | 'targetBytes'>;
  private readonly window: Registration[] = [];
  private readonly dates = new Set<string>();
  private readonly months = new Set<string>();
  private readonly eventDateText: readonly string[];
  private nextId = 10_000_001;

  constructor(options: RegistrationsOptions) {
    if ((options.rows === undefined) === (options.targetBytes === undefined)) {
      throw new RangeError('give exactly one of rows or targetBytes');
    }
    for (const [name, share] of [
      ['invalidShare', options.invalidShare],
      ['duplicateShare', options.duplicateShare],
    ] as const) {
      if (share !== undefined && !(share >= 0 && share < 1)) {
        throw new RangeError(`${name} must be in [0, 1), got ${share}`);
      }
    }
    if (options.years !== undefined && !(Number.isInteger(options.years) && options.years >= 1)) {
      throw new RangeError(`years must be a whole number ≥ 1, got ${options.years}`);
    }
    this.options = { seed: 1, invalidShare: 0.025, duplicateShare: 0.03, years: 1, ...options };
    this.eventDateText = this.options.years === 1 ? EVENT_DATES_2024 : eventDates(this.options.years);
    this.random = mulberry32(this.options.seed);
    this.stats = {
      seed: this.options.seed,
      rows: 0,
      bytes: 0,
      lines: 0,
      validRows: 0,
      invalidRows: 0,
      invalidByKind: Object.fromEntries(INVALID_KINDS.map((k) => [k, 0])) as Record<InvalidKind, number>,
      duplicateRows: 0,
      duplicatesByKind: Object.fromEntries(DUPLICATE_KINDS.map((k) => [k, 0])) as Record<
        DuplicateKind,
        number
      >,
      distinctValidIds: 0,
      eventDates: 0,
      eventMonths: 0,
      formulaNotes: 0,
      multilineNotes: 0,
      nullNotes: 0,
    };
  }

  /**
   * CSV text in chunks of about `chunkChars` characters, header first, records `\n`-terminated.
   * Stats are complete once the iteration ends.
   */
  *chunks(chunkChars = 1 << 16): Generator<string, void, undefined> {
    const { rows, targetBytes } = this.options;
    let pending = this.count(GENERATED_HEADER.join(',') + '\n');
    while (rows !== undefined ? this.stats.rows < rows : this.stats.bytes < targetBytes!) {
      const record = this.count(this.nextRecord());
      this.stats.rows++;
      pending += record;
      if (pending.length >= chunkChars) {
        yield pending;
        pending = '';
      }
    }
    if (pending !== '') yield pending;
  }

  private count(text: string): string {
    this.stats.bytes += Buffer.byteLength(text, 'utf8');
    let lines = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
    this.stats.lines += lines;
    return text;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private weighted<T extends readonly [string, number, ...unknown[]]>(items: readonly T[]): T {
    let r = this.random() * 100;
    for (const item of items) {
      r -= item[1];
      if (r < 0) return item;
    }
    return items[items.length - 1]!;
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  private nextRecord(): string {
    const r = this.random();
    const { invalidShare, duplicateShare } = this.options;
    if (r < invalidShare) return this.invalidRecord();
    if (r < invalidShare + duplicateShare && this.window.length > 0) return this.duplicateRecord();
    const reg = this.freshRegistration();
    this.remember(reg);
    return this.validRecord(reg);
  }

  private freshRegistration(): Registration {
    const event = this.int(1, EVENT_COUNT);
    const [ticket, , unitCents] = this.weighted(TICKETS);
    const [currency] = this.weighted(CURRENCIES);
    // Most people buy one or two tickets; groups are rare but reach the contract's limit of 100.
    const q = this.random();
    const quantity = q < 0.7 ? 1 : q < 0.9 ? 2 : q < 0.99 ? this.int(3, 10) : this.int(11, 100);
    let amountCents = unitCents * quantity;
    if (currency === 'JPY') amountCents = Math.round(amountCents * 1.6) * 100;
    else if (this.random() < 0.15) amountCents = Math.floor(amountCents * 0.85); // discount: odd cents
    // Registered 0..180 days before the event, at any second of the day.
    const registeredAtMs =
      eventDayMs(event, this.options.years) -
      this.int(0, 180) * DAY_MS -
      this.int(0, DAY_MS / 1000 - 1) * 1000;
    return {
      id: this.nextId++,
      event,
      email: this.email(),
      ticket,
      quantity,
      amountCents,
      currency,
      registeredAtMs,
      notes: this.notes(),
    };
  }

  private email(): string {
    const first = this.pick(FIRST_NAMES);
    const last = this.pick(LAST_NAMES);
    const tag = this.random() < 0.05 ? '+events' : '';
    return `${first}.${last}${this.int(1, 999)}${tag}@${this.pick(DOMAINS)}`;
  }

  private notes(): string | null {
    const r = this.random();
    if (r < 0.35) return null;
    if (r < 0.37) return '';
    if (r < 0.385) return this.pick(FORMULA_NOTES);
    if (r < 0.41) return this.pick(MULTILINE_NOTES);
    return this.pick(PLAIN_NOTES);
  }

  private remember(reg: Registration): void {
    if (this.window.length < DUPLICATE_WINDOW) this.window.push(reg);
    else this.window[Math.floor(this.random() * DUPLICATE_WINDOW)] = reg;
  }

  /** Timestamps in the three notations the contract accepts; all name the same instant. */
  private timestampText(ms: number, notation: 'Z' | 'offset' | 'none'): string {
    const withMillis = this.random() < 0.1;
    const iso = (t: number) => new Date(t).toISOString().slice(0, withMillis ? 23 : 19);
    if (notation === 'Z') return `${iso(ms)}Z`;
    if (notation === 'offset') return `${iso(ms + 2 * 3_600_000)}+02:00`;
    return iso(ms); // zone-less: the contract's defaultTimezone (UTC) applies
  }

  private anyNotation(): 'Z' | 'offset' | 'none' {
    const r = this.random();
    return r < 0.5 ? 'Z' : r < 0.75 ? 'offset' : 'none';
  }

  /** The row's cells in GENERATED_HEADER order. */
  private cells(reg: Registration, notation = this.anyNotation()): string[] {
    return [
      `REG-${pad(reg.id, 8)}`,
      `EVT-${pad(reg.event, 4)}`,
      this.eventDateText[reg.event]!,
      reg.email,
      reg.ticket,
      String(reg.quantity),
      amountText(reg.amountCents, reg.currency),
      reg.currency,
      this.timestampText(reg.registeredAtMs, notation),
      // null → unquoted empty cell; '' → quoted empty cell (an empty string, not null)
      reg.notes === null ? '' : reg.notes === '' ? '""' : csvCell(reg.notes),
    ];
  }

  private validRecord(reg: Registration, duplicate = false): string {
    const s = this.stats;
    s.validRows++;
    if (!duplicate) s.distinctValidIds++;
    const date = this.eventDateText[reg.event]!;
    if (!this.dates.has(date)) {
      this.dates.add(date);
      s.eventDates = this.dates.size;
      this.months.add(date.slice(0, 7));
      s.eventMonths = this.months.size;
    }
    if (reg.notes === null) s.nullNotes++;
    else {
      if (isFormulaText(reg.notes)) s.formulaNotes++;
      if (/[\r\n]/.test(reg.notes)) s.multilineNotes++;
    }
    return this.cells(reg).join(',') + '\n';
  }

  /**
   * Repeats an earlier valid row's id. The original leaves the window, so every id appears at
   * most twice and the winner of each pair is known.
   */
  private duplicateRecord(): string {
    const at = Math.floor(this.random() * this.window.length);
    const original = this.window[at]!;
    this.window[at] = this.window[this.window.length - 1]!;
    this.window.pop();
    const kind = DUPLICATE_KINDS[Math.floor(this.random() * DUPLICATE_KINDS.length)]!;
    const shiftMs = this.int(1, 72 * 60) * 60_000;
    const changed: Registration = {
      ...original,
      // A correction: another ticket count (and so amount), the same person and event.
      quantity: original.quantity === 1 ? 2 : original.quantity - 1,
      amountCents: Math.round(
        (original.amountCents / original.quantity) * (original.quantity === 1 ? 2 : original.quantity - 1),
      ),
      registeredAtMs:
        kind === 'laterRowWins'
          ? original.registeredAtMs + shiftMs
          : kind === 'earlierRowWins'
            ? original.registeredAtMs - shiftMs
            : original.registeredAtMs,
      notes: kind === 'exactTie' ? 'resubmitted, same timestamp' : 'updated registration',
    };
    this.stats.duplicateRows++;
    this.stats.duplicatesByKind[kind]++;
    return this.validRecord(changed, true);
  }

  private invalidRecord(): string {
    const kind = INVALID_KINDS[Math.floor(this.random() * INVALID_KINDS.length)]!;
    const reg = this.freshRegistration();
    const cells = this.cells(reg);
    const col = (name: (typeof GENERATED_HEADER)[number]) => GENERATED_HEADER.indexOf(name);
    switch (kind) {
      case 'bad_email':
        cells[col('attendee_email')] = this.pick([
          reg.email.replace('@', '.'),
          reg.email.replace('@', '@@'),
          'anna müller@example.com',
          reg.email.slice(0, reg.email.indexOf('@') + 1),
        ]);
        break;
      case 'unknown_ticket_type':
        cells[col('ticket_type')] = this.pick(['platinum', 'VIP', 'General', 'early-bird']);
        break;
      case 'negative_amount':
        cells[col('amount')] = `-${this.int(1, 500)}.00`;
        break;
      case 'over_scale_amount':
        // The third fraction digit is never 0: "1.010" would be a lenient reader's 1.01.
        cells[col('amount')] = `${this.int(1, 500)}.${pad(this.int(0, 99), 2)}${this.int(1, 9)}`;
        break;
      case 'nonexistent_date':
        cells[col('event_date')] = this.pick([
          '2024-02-30',
          '2024-04-31',
          '2023-02-29',
          '2024-13-01',
          '2024-06-00',
        ]);
        break;
      case 'zero_quantity':
        cells[col('quantity')] = '0';
        break;
      case 'unknown_currency':
        cells[col('currency')] = this.pick(['BTC', 'eur', 'EURO', 'XXX']);
        break;
      case 'short_row':
        cells.length -= this.int(1, 3);
        break;
      case 'long_row':
        cells.push(this.pick(['extra', '', 'EVT-0001']));
        break;
    }
    this.stats.invalidRows++;
    this.stats.invalidByKind[kind]++;
    return cells.join(',') + '\n';
  }
}

/**
 * Streams a registrations CSV to a file or a writable stream, honouring backpressure.
 * @returns the final stats once everything is flushed.
 */
export async function writeRegistrationsCsv(
  out: string | Writable,
  options: RegistrationsOptions,
): Promise<GenerationStats> {
  const stream = typeof out === 'string' ? createWriteStream(out) : out;
  const gen = new RegistrationsGenerator(options);
  for (const chunk of gen.chunks()) {
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  if (typeof out === 'string') {
    stream.end();
    await once(stream, 'finish');
  }
  return gen.stats;
}

/** Generates a whole CSV in memory (small sizes only: tests and the sample). */
export function registrationsCsvText(options: RegistrationsOptions): {
  text: string;
  stats: GenerationStats;
} {
  const gen = new RegistrationsGenerator(options);
  const text = [...gen.chunks()].join('');
  return { text, stats: gen.stats };
}

const UNITS: Record<string, number> = { B: 1, KB: 1 << 10, MB: 1 << 20, GB: 1 << 30 };

/**
 * Parses a size such as `10MB` or `1GB`. Units are binary (1 MB = 1 MiB = 1,048,576 bytes), so
 * "1GB" is exactly 1 GiB, as in DESIGN.md's measurements.
 */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not a size; write it like 10MB, 100MB or 1GB`);
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? 'B').toUpperCase()]!);
}

/** What the pipeline should report for a generated file, in the step results' own names. */
export interface ExpectedPipelineCounts {
  /** ValidateResult.rowsRead / rowsValid / rowsRejected / rejectRatio. */
  readonly rowsRead: number;
  readonly rowsValid: number;
  readonly rowsRejected: number;
  readonly rejectRatio: number;
  /** ValidateResult.formulaCells, counting valid rows only (rejected negative amounts also start with "-"). */
  readonly formulaCells: number;
  /** TransformManifest.rowsIn / rowsOut / duplicatesDropped / partitions.length (month partitions). */
  readonly rowsOut: number;
  readonly duplicatesDropped: number;
  readonly partitions: number;
}

/** Translates generator stats into the counts ValidateResult and TransformManifest should carry. */
export function expectedPipelineCounts(stats: GenerationStats): ExpectedPipelineCounts {
  return {
    rowsRead: stats.rows,
    rowsValid: stats.validRows,
    rowsRejected: stats.invalidRows,
    rejectRatio: stats.rows === 0 ? 0 : stats.invalidRows / stats.rows,
    formulaCells: stats.formulaNotes,
    rowsOut: stats.distinctValidIds,
    duplicatesDropped: stats.duplicateRows,
    partitions: stats.eventMonths,
  };
}
