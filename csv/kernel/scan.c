/*
 * The checked fast path's byte pass (checked-fast-path.ts `CheckedScanner.scanEnded`) as a
 * WebAssembly kernel: the same split, the same per-column checks (byte-checks.ts, read from the
 * column table scan-kernel.ts writes), the same good-record copy. Built by scripts/build-kernel.sh
 * into csv/kernel/scan-wasm.ts; the JavaScript scanner stays as the reference it is tested against
 * (test/validate/scan-kernel.test.ts) and as the path for contracts the table cannot hold.
 *
 * No libc: freestanding C, clang's wasm32 target with SIMD128. Every input block ends with a
 * sentinel line feed and at least 16 more readable bytes, so a 16-byte load from any offset before
 * the sentinel stays in memory.
 */
#include <stdint.h>
#include <wasm_simd128.h>

typedef uint8_t u8;
typedef int32_t i32;
typedef uint32_t u32;
typedef uint64_t u64;

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))

/* A record for the JavaScript checker: its bytes [start, end), first line, field count. Its
   fields are in the field arrays until the next call. */
/* failing: bit k set when the record's column k failed its checks (0: the whole record must be
   checked: a wrong field count, a formula sample, a cell only JavaScript can tell, > 31 columns). */
IMPORT("failing") void js_failing(i32 start, i32 end, i32 line, i32 fields, i32 failing);
/* The output region is full: JavaScript writes it out (out_used bytes) and sets out_used to 0. */
IMPORT("flush") void js_flush(void);

#define MAX_FIELDS 4096
#define CELL_QUOTED 1
#define CELL_NON_ASCII 2
#define LF 10
#define CR 13

enum { K_STRING = 1, K_INTEGER, K_DECIMAL, K_DOUBLE, K_BOOLEAN, K_DATE, K_TIMESTAMP };
enum { R_ENUM = 1, R_PATTERN, R_EMAIL };
/* Declines (the JavaScript scanner's reasons, in scan-kernel.ts). */
enum {
  D_OPEN_QUOTE = 1,
  D_AFTER_QUOTE,
  D_QUOTE_INSIDE,
  D_CR_ALONE,
  D_BLANK_LINE,
  D_TOO_LONG,
  D_HEADER_LINES
};

/* Set by JavaScript before the first scan. */
static struct {
  i32 ncols, quote, delim, max_record_bytes, json_per_row, samples_full;
  i32 out_ptr, out_cap, cols_ptr, bounds_ptr;
} cfg;

/* Read by JavaScript after each scan; the out_* counters are its to reset. */
static struct {
  i32 line, width, records, good, formula_cells, declined, decline_line;
  i32 out_used, out_rows, out_bytes, out_json, out_longest;
} st;

static i32 starts[MAX_FIELDS], ends[MAX_FIELDS], pairs[MAX_FIELDS], escapes[MAX_FIELDS];
static u8 flags[MAX_FIELDS];

/* Byte classes outside quotes: 0 ordinary, 1 above ASCII, 2 JSON-escaped, 3 ends or opens a field. */
static u8 cls[256];
static u8 formula_start[256];
static u8 email_local[256];
static u8 label_set[256];

static const double POW10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
static const u8 DAYS[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

EXPORT("cfg") void *cfg_ptr(void) { return &cfg; }
EXPORT("state") void *state_ptr(void) { return &st; }
EXPORT("starts") void *starts_ptr(void) { return starts; }
EXPORT("ends") void *ends_ptr(void) { return ends; }
EXPORT("pairs") void *pairs_ptr(void) { return pairs; }
EXPORT("flags") void *flags_ptr(void) { return flags; }

static void set_chars(u8 *set, const char *chars) {
  for (; *chars; chars++) set[(u8)*chars] = 1;
}

/* After cfg is written: the tables, and the state of a new file. */
EXPORT("reset") void reset(void) {
  for (int b = 0; b < 256; b++) cls[b] = b >= 0x80 ? 1 : b < 0x20 ? 2 : 0;
  cls[92] = 2;
  cls[(u8)cfg.delim] = cls[(u8)cfg.quote] = cls[LF] = cls[CR] = 3;
  set_chars(formula_start, "=+-@\t\r");
  const char *alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  set_chars(email_local, alnum);
  set_chars(email_local, ".!#$%&'*+/=?^_`{|}~-");
  set_chars(label_set, alnum);
  st.line = 1;
  st.width = -1;
  st.records = st.good = st.formula_cells = st.declined = st.decline_line = 0;
  st.out_used = st.out_rows = st.out_bytes = st.out_json = st.out_longest = 0;
}

static inline int digit(u8 b) { return (u8)(b - 48) <= 9; }
static inline int two(const u8 *b) { return (b[0] - 48) * 10 + b[1] - 48; }

/* Every byte of the 16 at `b` within [lo, hi] (lo = rg[0..15], hi = rg[16..31]): one test for a
   fixed shape instead of a branch per byte (the branches mispredicted on varied data). */
static inline int all_in(const u8 *b, const u8 *rg) {
  v128_t x = wasm_v128_load(b);
  return wasm_i8x16_all_true(
      wasm_v128_and(wasm_u8x16_ge(x, wasm_v128_load(rg)), wasm_u8x16_le(x, wasm_v128_load(rg + 16))));
}

/* YYYY-MM-DD, then anything (a date's 10 bytes are followed by the cell's end or more bytes). */
static const u8 DATE_SHAPE[32] = {'0', '0', '0', '0', '-', '0', '0', '-', '0', '0', 0,   0,   0,   0,   0,   0,
                                  '9', '9', '9', '9', '-', '9', '9', '-', '9', '9', 255, 255, 255, 255, 255, 255};
/* YYYY-MM-DD?HH:MM (the separator at 10 is checked apart: T or a space). */
static const u8 TIMESTAMP_SHAPE[32] = {'0', '0', '0', '0', '-', '0', '0', '-', '0', '0', 0,   '0', '0', ':', '0', '0',
                                       '9', '9', '9', '9', '-', '9', '9', '-', '9', '9', 255, '9', '9', ':', '9', '9'};

/* The day of `YYYY-MM-DD` at `b` (shape already checked): real, year within [min_year, max_year]. */
static int day_ok(const u8 *b, int min_year, int max_year) {
  int year = two(b) * 100 + two(b + 2), month = two(b + 5), day = two(b + 8);
  if (year < min_year || year > max_year || month < 1 || month > 12 || day < 1 || day > DAYS[month])
    return 0;
  return !(month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)));
}

/* byte-checks.ts numberAt: the value of a canonical number of the shape, or NaN. */
static double number_at(const u8 *b, int s, int e, int whole, int scale) {
  int i = s;
  int negative = b[i] == '-';
  if (negative) i++;
  int int_start = i;
  u64 v = 0;
  while (i < e) {
    u32 d = (u32)b[i] - 48;
    if (d > 9) break;
    v = v * 10 + d;
    i++;
  }
  int int_digits = i - int_start;
  if (int_digits == 0 || int_digits > whole || (int_digits > 1 && b[int_start] == '0'))
    return __builtin_nan("");
  int fraction = 0;
  if (i < e) {
    if (b[i] != '.' || scale == 0) return __builtin_nan("");
    i++;
    int frac_start = i;
    while (i < e) {
      u32 d = (u32)b[i] - 48;
      if (d > 9) return __builtin_nan("");
      v = v * 10 + d;
      i++;
    }
    fraction = i - frac_start;
    if (fraction == 0 || fraction > scale) return __builtin_nan("");
  }
  if (int_digits + fraction > 15) return __builtin_nan("");
  double value = fraction == 0 ? (double)v : (double)v / POW10[fraction];
  return negative ? -value : value;
}

static int email_at(const u8 *b, int s, int e) {
  int i = s;
  while (i < e && email_local[b[i]]) i++;
  if (i == s || i == e || b[i] != '@') return 0;
  i++;
  for (;;) {
    int label = i;
    if (i >= e || !label_set[b[i]]) return 0;
    while (i < e && (label_set[b[i]] || b[i] == '-')) i++;
    if (i - label > 63 || b[i - 1] == '-') return 0;
    if (i == e) return 1;
    if (b[i] != '.') return 0;
    i++;
  }
}

/* Enum rule: [R_ENUM, count, has_empty, first, (len, ptr, next) per option]; first[byte] is the
   1-based index of the first option starting with that byte, next the one after it (0 ends). */
static int enum_at(const i32 *r, const u8 *b, int s, int e) {
  int n = e - s;
  if (n == 0) return r[2];
  const i32 *first = (const i32 *)(uintptr_t)r[3];
  const i32 *opts = r + 4;
  for (int k = first[b[s]]; k != 0; k = opts[3 * (k - 1) + 2]) {
    const i32 *o = opts + 3 * (k - 1);
    if (o[0] != n) continue;
    const u8 *opt = (const u8 *)(uintptr_t)o[1];
    int j = 1;
    while (j < n && opt[j] == b[s + j]) j++;
    if (j == n) return 1;
  }
  return 0;
}

/* Atoms from `k` on match [at, e) (byte-checks.ts patternMatcher). */
static int atoms_from(const i32 *atoms, int k, int natoms, const u8 *b, int at, int e) {
  if (k == natoms) return at == e;
  const i32 *a = atoms + 3 * k;
  const u8 *set = (const u8 *)(uintptr_t)a[0];
  int min = a[1], max = a[2], count = 0;
  while (count < max && at + count < e && set[b[at + count]]) count++;
  for (; count >= min; count--)
    if (atoms_from(atoms, k + 1, natoms, b, at + count, e)) return 1;
  return 0;
}

/* Pattern rule: [R_PATTERN, natoms, fixed length or -1, table, ranges | atoms...]; `ranges` (a fixed
   pattern of at most 16 bytes whose every position is one byte range) is tested in one step. */
static int pattern_at(const i32 *r, const u8 *b, int s, int e) {
  int fixed = r[2];
  if (fixed >= 0) {
    if (e - s != fixed) return 0;
    if (r[4] != 0) return all_in(b + s, (const u8 *)(uintptr_t)r[4]);
    const u8 *table = (const u8 *)(uintptr_t)r[3];
    for (int k = 0; k < fixed; k++)
      if (!table[k * 256 + b[s + k]]) return 0;
    return 1;
  }
  return atoms_from(r + 5, 0, r[1], b, s, e);
}

/* Column table, 16 i32 per column (scan-kernel.ts writes it). */
enum {
  C_FIELD, C_KIND, C_REQUIRED, C_TEXT, C_HAS_LENGTH, C_MIN_LENGTH, C_MAX_LENGTH, C_NRULES,
  C_RULES, C_WHOLE, C_SCALE, C_ZONE_OPTIONAL, C_SIZE = 16
};

/* 1 passes, 0 fails, -1 only the JavaScript checker can tell (a text rule over a doubled quote). */
static int check_cell(const i32 *c, const double *bounds, const u8 *b, int s, int e, int flag, int pr) {
  int kind = c[C_KIND];
  if (kind == K_STRING) {
    if (s == e && !(flag & CELL_QUOTED)) return !c[C_REQUIRED];
    if (c[C_HAS_LENGTH]) {
      int n = e - s;
      if (flag & CELL_NON_ASCII) {
        n = 0;
        for (int i = s; i < e; i++) n += (b[i] & 0xc0) != 0x80;
      }
      n -= pr;
      if (n < c[C_MIN_LENGTH] || n > c[C_MAX_LENGTH]) return 0;
    }
    int nrules = c[C_NRULES];
    if (nrules == 0) return 1;
    if (pr > 0) return -1;
    const i32 *rules = (const i32 *)(uintptr_t)c[C_RULES];
    for (int k = 0; k < nrules; k++) {
      const i32 *r = (const i32 *)(uintptr_t)rules[k];
      int ok = r[0] == R_ENUM ? enum_at(r, b, s, e) : r[0] == R_PATTERN ? pattern_at(r, b, s, e) : email_at(b, s, e);
      if (!ok) return 0;
    }
    return 1;
  }
  if (s == e) return !c[C_REQUIRED];
  if ((flag & CELL_NON_ASCII) || pr > 0) return 0;
  int n = e - s;
  double v;
  switch (kind) {
    case K_INTEGER:
      if (b[s] == '-' && n == 2 && b[s + 1] == '0') return 0;
      v = number_at(b, s, e, 15, 0);
      break;
    case K_DECIMAL:
      v = number_at(b, s, e, c[C_WHOLE], c[C_SCALE]);
      break;
    case K_DOUBLE:
      v = number_at(b, s, e, 15, 15);
      break;
    case K_BOOLEAN: {
      if (n == 1) return b[s] == '0' || b[s] == '1';
      u8 l[5];
      if (n != 4 && n != 5) return 0;
      for (int k = 0; k < n; k++) l[k] = (u8)(b[s + k] >= 'A' && b[s + k] <= 'Z' ? b[s + k] + 32 : b[s + k]);
      if (n == 4) return l[0] == 't' && l[1] == 'r' && l[2] == 'u' && l[3] == 'e';
      return l[0] == 'f' && l[1] == 'a' && l[2] == 'l' && l[3] == 's' && l[4] == 'e';
    }
    case K_DATE:
      return n == 10 && all_in(b + s, DATE_SHAPE) && day_ok(b + s, 1, 9999);
    default: { /* K_TIMESTAMP */
      const u8 *t = b + s;
      if (n < 19 || !all_in(t, TIMESTAMP_SHAPE)) return 0;
      if ((t[10] != 'T' && t[10] != ' ') || t[16] != ':' || !digit(t[17]) || !digit(t[18])) return 0;
      if (!day_ok(t, 2, 9998)) return 0;
      if (two(t + 11) > 23 || two(t + 14) > 59 || two(t + 17) > 59) return 0;
      int i = s + 19;
      if (i < e && b[i] == '.') {
        i++;
        int from = i;
        while (i < e && digit(b[i])) i++;
        if (i == from || i - from > 6) return 0;
      }
      if (i == e) return c[C_ZONE_OPTIONAL];
      if (b[i] == 'Z') return i + 1 == e;
      if (b[i] != '+' && b[i] != '-') return 0;
      if (e - i != 6 || b[i + 3] != ':') return 0;
      if (!digit(b[i + 1]) || !digit(b[i + 2]) || !digit(b[i + 4]) || !digit(b[i + 5])) return 0;
      return two(b + i + 1) <= 14 && two(b + i + 4) <= 59;
    }
  }
  const double *bd = bounds;
  return v >= bd[0] && v <= bd[1] && v > bd[2] && v < bd[3];
}

/* byte-checks.ts jsonLengthOf: the JSON Lines bytes of a checked cell's value. */
static int json_length(int kind, int scale, const u8 *b, int s, int e, int flag, int esc) {
  if (s == e && (kind != K_STRING || !(flag & CELL_QUOTED))) return 4;
  switch (kind) {
    case K_STRING:
      return e - s + 2 + esc;
    case K_DECIMAL: {
      int point = s;
      while (point < e && b[point] != '.') point++;
      int fraction = point == e ? -1 : e - point - 1;
      return e - s + 2 + (scale == 0 ? 0 : fraction == -1 ? scale + 1 : scale - fraction);
    }
    case K_BOOLEAN:
      return 2 + (e - s == 1 ? (b[s] == '1' ? 4 : 5) : e - s);
    case K_DATE:
      return 12;
    case K_TIMESTAMP:
      return 29;
    default:
      return e - s + 2;
  }
}

/* All the record's checks: -1 when one fails, -2 when the JavaScript checker must tell, else how
   many text cells look like formulas. */
static int check_record(const u8 *b) {
  const i32 *c = (const i32 *)(uintptr_t)cfg.cols_ptr;
  const double *bounds = (const double *)(uintptr_t)cfg.bounds_ptr;
  int formulas = 0, unsure = 0;
  for (int k = 0; k < cfg.ncols; k++, c += C_SIZE, bounds += 4) {
    int f = c[C_FIELD];
    int s = starts[f], e = ends[f];
    int ok = check_cell(c, bounds, b, s, e, flags[f], pairs[f]);
    if (ok == 0) return -1;
    if (ok < 0) unsure = 1;
    if (c[C_TEXT] && s < e && formula_start[b[s]]) formulas++;
  }
  return unsure ? -2 : formulas;
}

/* The columns of a failing record that fail their checks (check_record's failure told only of the
   first), or 0 when a cell needs the JavaScript checker or the columns do not fit the bits. */
static i32 failing_columns(const u8 *b) {
  if (cfg.ncols > 31) return 0;
  const i32 *c = (const i32 *)(uintptr_t)cfg.cols_ptr;
  const double *bounds = (const double *)(uintptr_t)cfg.bounds_ptr;
  i32 failing = 0;
  for (int k = 0; k < cfg.ncols; k++, c += C_SIZE, bounds += 4) {
    int f = c[C_FIELD];
    int ok = check_cell(c, bounds, b, starts[f], ends[f], flags[f], pairs[f]);
    if (ok < 0) return 0;
    if (ok == 0) failing |= (i32)1 << k;
  }
  return failing;
}

static int json_of(const u8 *b) {
  const i32 *c = (const i32 *)(uintptr_t)cfg.cols_ptr;
  int n = 0;
  for (int k = 0; k < cfg.ncols; k++, c += C_SIZE) {
    int f = c[C_FIELD];
    n += json_length(c[C_KIND], c[C_SCALE], b, starts[f], ends[f], flags[f], escapes[f]);
  }
  return n;
}

static inline int digits_of(u32 v) {
  int d = 1;
  while (v >= 10) v /= 10, d++;
  return d;
}

static int decline(int code, int line) {
  if (!st.declined) {
    st.declined = code;
    st.decline_line = line;
  }
  return -1;
}

/* Bytes in [from, 16 on) that stop an unquoted field: controls, ≥ 0x80, backslash, delimiter, quote. */
static inline u32 stops16(const u8 *p, v128_t delim, v128_t quote) {
  v128_t x = wasm_v128_load(p);
  v128_t m = wasm_v128_or(wasm_u8x16_lt(x, wasm_u8x16_splat(0x20)), wasm_i8x16_lt(x, wasm_i8x16_splat(0)));
  m = wasm_v128_or(m, wasm_i8x16_eq(x, wasm_i8x16_splat(92)));
  m = wasm_v128_or(m, wasm_v128_or(wasm_i8x16_eq(x, delim), wasm_i8x16_eq(x, quote)));
  return wasm_i8x16_bitmask(m);
}

/* Bytes that matter inside quotes: the quote, controls (escaped; line ends counted), ≥ 0x80, backslash. */
static inline u32 quoted16(const u8 *p, v128_t quote) {
  v128_t x = wasm_v128_load(p);
  v128_t m = wasm_v128_or(wasm_u8x16_lt(x, wasm_u8x16_splat(0x20)), wasm_i8x16_lt(x, wasm_i8x16_splat(0)));
  m = wasm_v128_or(m, wasm_v128_or(wasm_i8x16_eq(x, wasm_i8x16_splat(92)), wasm_i8x16_eq(x, quote)));
  return wasm_i8x16_bitmask(m);
}

/*
 * CheckedScanner.scanEnded over buf[from, n), buf[n] the sentinel: the offset of the first record
 * not complete, or -1 once declined (st.declined). Good records go to the output region, the
 * others to js_failing.
 */
EXPORT("scan") i32 scan(const u8 *buf, i32 from, i32 n, i32 final) {
  const u8 q = (u8)cfg.quote, delim = (u8)cfg.delim;
  const v128_t vdelim = wasm_i8x16_splat((int8_t)delim), vquote = wasm_i8x16_splat((int8_t)q);
  u8 *out = (u8 *)(uintptr_t)cfg.out_ptr;
  int i = from;
  while (i < n) {
    const int record_start = i;
    int line = st.line;
    int fields = 0;
    int end, next;
    for (;;) {
      int start, stop, flag = 0, doubled = 0, escaped = 0;
      if (buf[i] == q) {
        flag = CELL_QUOTED;
        start = ++i;
        for (;;) {
          /* the next byte that matters, or the sentinel's position n */
          u32 m = quoted16(buf + i, vquote);
          while (m == 0) {
            i += 16;
            m = quoted16(buf + i, vquote);
          }
          i += __builtin_ctz(m);
          if (i >= n) {
            if (!final) return record_start;
            return decline(D_OPEN_QUOTE, st.line);
          }
          u8 x = buf[i];
          if (x == q) {
            if (i + 1 == n && !final) return record_start;
            if (buf[i + 1] == q) {
              doubled++;
              i += 2;
              continue;
            }
            stop = i;
            i++;
            break;
          }
          if (x < 0x20 || x == 92) {
            escaped++;
            if (x == LF) {
              if (i == 0 || buf[i - 1] != CR) line++;
            } else if (x == CR)
              line++;
          } else
            flag |= CELL_NON_ASCII;
          i++;
        }
        if (i < n) {
          u8 x = buf[i];
          if (x != delim && x != LF && x != CR) return decline(D_AFTER_QUOTE, line);
        }
      } else {
        start = i;
        for (;;) {
          u32 m = stops16(buf + i, vdelim, vquote);
          while (m == 0) {
            i += 16;
            m = stops16(buf + i, vdelim, vquote);
          }
          i += __builtin_ctz(m);
          u8 c = cls[buf[i]];
          if (c == 3) break;
          if (c == 1)
            flag |= CELL_NON_ASCII;
          else if (c == 2)
            escaped++;
          i++;
        }
        if (i < n && buf[i] == q) return decline(D_QUOTE_INSIDE, line);
        stop = i;
      }
      if (fields < MAX_FIELDS) {
        starts[fields] = start;
        ends[fields] = stop;
        flags[fields] = (u8)flag;
        pairs[fields] = doubled;
        escapes[fields] = escaped;
      }
      fields++;
      if (i == n) {
        if (!final) return record_start;
        end = next = n;
        break;
      }
      u8 c = buf[i];
      if (c == delim) {
        i++;
        continue;
      }
      if (c == LF) {
        end = i;
        next = i + 1;
        break;
      }
      if (i + 1 == n && !final) return record_start;
      if (i + 1 == n || buf[i + 1] != LF) return decline(D_CR_ALONE, line);
      end = i;
      next = i + 2;
      break;
    }
    if (fields == 1 && ends[0] == starts[0] && flags[0] == 0 && end != n) return decline(D_BLANK_LINE, st.line);
    if (end - record_start > cfg.max_record_bytes) return decline(D_TOO_LONG, st.line);
    const int first = st.line;
    if (st.width < 0) {
      if (line != first) return decline(D_HEADER_LINES, first);
      st.line = line + (end == n && next == n ? 0 : 1);
      i = next;
      st.width = fields;
      continue;
    }
    int formulas = fields == st.width && fields <= MAX_FIELDS ? check_record(buf) : -1;
    /* Sampled by the JavaScript checker, in line order, until its samples are all taken. */
    int good = formulas == 0 || (formulas > 0 && cfg.samples_full);
    int size = end - record_start;
    if (good && st.out_used + size + 12 > cfg.out_cap) {
      js_flush();
      if (st.out_used + size + 12 > cfg.out_cap) return decline(D_TOO_LONG, st.line);
    }
    st.line = line + (end == n && next == n ? 0 : 1);
    i = next;
    st.records++;
    if (!good) {
      /* a record whose checks failed, not one of the wrong width or for the samples */
      int checked = formulas == -1 && fields == st.width && fields <= MAX_FIELDS;
      js_failing(record_start, end, first, fields, checked ? failing_columns(buf) : 0);
      continue;
    }
    st.formula_cells += formulas;
    st.good++;
    int need = size + 24;
    st.out_json += cfg.json_per_row + json_of(buf) + digits_of((u32)first);
    /* line number, delimiter, the record's bytes, LF (checked-fast-path.ts ChunkWriter.add) */
    u8 *o = out + st.out_used;
    int d = digits_of((u32)first);
    u32 v = (u32)first;
    for (int k = d - 1; k >= 0; k--, v /= 10) o[k] = (u8)('0' + v % 10);
    o += d;
    *o++ = delim;
    __builtin_memcpy(o, buf + record_start, (unsigned long)size);
    o += size;
    *o++ = LF;
    st.out_used = (i32)(o - out);
    st.out_rows++;
    st.out_bytes += need;
    if (need > st.out_longest) st.out_longest = need;
  }
  return n;
}
