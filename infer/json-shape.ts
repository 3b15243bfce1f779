/**
 * The shape of a stream of JSON records, learned one record at a time, for `etl init` on JSON Lines
 * and JSON files: a tree of the paths seen (`actor` → `login`), per path how often it held an
 * object, an array, a string, a number, a boolean or null, and — for scalar values — a
 * {@link ColumnProfile} fed the value's text, so a flattened leaf is judged by the same rules (and
 * the same coercers) as a CSV column.
 *
 * Which paths become columns is decided at the end ({@link JsonShape.columns}):
 *  - the record itself is always flattened: each top-level key is a column (or a group of them);
 *  - a nested object is flattened into `parent_child` columns when it is a record, not a bag: it was
 *    never anything but an object (or null), it is at most {@link MAX_FLATTEN_DEPTH} levels deep,
 *    and at least half of its keys ({@link MIN_CORE_SHARE}) are each present in at least half
 *    ({@link MIN_KEY_SHARE}) of its occurrences — its optional keys become nullable columns;
 *  - otherwise — an array, a free-form object (keys that depend on the event type, keys that are
 *    ids), an object in one record and a scalar in another — the path is one JSON-text column;
 *  - a path absent or null in some record is not required.
 *
 * Memory is bounded: at most {@link MAX_OBJECT_KEYS} keys per object and {@link MAX_PATHS} paths in
 * all are tracked; an object past either limit is a JSON-text column and its insides are dropped.
 */
import { QUOTED_EMPTY } from '../csv/csv-records';
import { cellOf, EMPTY_STRING, isJsonObject, type JsonObject, type JsonValue } from '../csv/json-flatten';
import { ColumnProfile, type ColumnDecision } from './column-profile';

/** A key of a nested object present in at least this share of its occurrences is a core key … */
export const MIN_KEY_SHARE = 0.5;
/** … and an object whose core keys are fewer than this share of its keys is free-form (JSON text). */
export const MIN_CORE_SHARE = 0.5;
/** An object with more distinct keys than this is a map (keys that are data), not a record. */
export const MAX_OBJECT_KEYS = 200;
/** Paths tracked in all (columns and the objects holding them). */
export const MAX_PATHS = 4000;
/** Levels below the record that are flattened (`a.b.c` is 3); deeper objects are JSON text. */
export const MAX_FLATTEN_DEPTH = 4;

type Kind = 'object' | 'array' | 'string' | 'number' | 'boolean';

/** Why a path became one JSON-text column rather than flattened columns. */
export type TextReason = 'array' | 'mixed' | 'free-form' | 'too-deep' | 'too-many-keys' | 'empty-object';

class PathNode {
  /** Records in which the path held a value other than null. */
  nonNull = 0;
  nulls = 0;
  readonly kinds = new Map<Kind, number>();
  /** First line on which the path was absent or null (while its parent was not). */
  firstMissingLine: number | undefined;
  /** The last record (ordinal) the path was seen in: each record counts once. */
  lastRecord = -1;
  /** Objects: keys in first-seen order; undefined once the object is beyond the limits. */
  children: Map<string, PathNode> | undefined = new Map();
  overflow: TextReason | undefined;
  /** Scalar values, judged as a column would be. */
  profile: ColumnProfile | undefined;

  constructor(
    readonly path: readonly string[],
    /** The first line this path was seen on. */
    readonly firstLine: number,
  ) {}

  count(kind: Kind): number {
    return this.kinds.get(kind) ?? 0;
  }
}

/** One column the shape proposes. */
export interface ShapeColumn {
  /** Keys from the record down to the value. */
  readonly path: readonly string[];
  /** `value`: a scalar judged by its profile; `json`: the JSON text of whatever is there. */
  readonly kind: 'value' | 'json';
  readonly decision: ColumnDecision;
  /** The JSON kinds seen there, e.g. "string 1,200, null 3". */
  readonly kinds: string;
}

const count = (n: number) => n.toLocaleString('en-US');

/** Learns the shape of records, one {@link JsonShape.observe} per record. */
export class JsonShape {
  /** Records observed (objects only). */
  records = 0;
  private readonly root = new PathNode([], 1);
  private paths = 1;

  /** Sees one record (a JSON object) that starts on `line`. */
  observe(record: JsonObject, line: number): void {
    this.walkObject(this.root, record, line, this.records, 0);
    this.records++;
  }

  private walkObject(node: PathNode, value: JsonObject, line: number, rec: number, depth: number) {
    const children = node.children;
    if (children === undefined) return;
    let keys = 0;
    for (const key of Object.keys(value)) {
      keys++;
      let child = children.get(key);
      if (child === undefined) {
        if (node !== this.root && children.size >= MAX_OBJECT_KEYS)
          return this.overflow(node, 'too-many-keys');
        if (node !== this.root && this.paths >= MAX_PATHS) return this.overflow(node, 'too-many-keys');
        child = new PathNode([...node.path, key], line);
        // Absent from every earlier occurrence of its parent.
        if (node.count('object') > 1 || (node === this.root && rec > 0))
          child.firstMissingLine = node.firstLine;
        children.set(key, child);
        this.paths++;
      }
      this.walkValue(child, value[key], line, rec, depth + 1);
    }
    // A key seen before but absent here.
    if (keys < children.size)
      for (const child of children.values()) if (child.lastRecord !== rec) child.firstMissingLine ??= line;
  }

  private overflow(node: PathNode, reason: TextReason): void {
    if (node.children) this.paths -= countPaths(node) - 1;
    node.children = undefined;
    node.overflow ??= reason;
  }

  private walkValue(
    node: PathNode,
    value: JsonValue | undefined,
    line: number,
    rec: number,
    depth: number,
  ): void {
    if (node.lastRecord === rec) return; // a duplicate key in one object: JSON.parse keeps the last
    node.lastRecord = rec;
    if (value === null || value === undefined) {
      node.nulls++;
      node.firstMissingLine ??= line;
      return;
    }
    node.nonNull++;
    if (Array.isArray(value)) {
      bump(node, 'array');
      return;
    }
    if (isJsonObject(value)) {
      bump(node, 'object');
      // As flattenObject: an object at the depth limit is one JSON text.
      if (depth >= MAX_FLATTEN_DEPTH) {
        if (node.children) this.overflow(node, 'too-deep');
        return;
      }
      this.walkObject(node, value, line, rec, depth);
      return;
    }
    const kind = typeof value === 'string' ? 'string' : typeof value === 'boolean' ? 'boolean' : 'number';
    bump(node, kind);
    const profile = (node.profile ??= new ColumnProfile());
    // The cell validate's RowChecker will see for this value (numbers as written); a JSON "" is an
    // empty string for text and null for other types, as a quoted "" in a CSV.
    const cell = cellOf(value, false);
    if (typeof cell === 'string') profile.observe(cell, line);
    else if (cell === EMPTY_STRING) profile.observe(QUOTED_EMPTY, line);
  }

  /** The columns, in the order their paths were first seen (depth first). */
  columns(wholeFile: boolean): ShapeColumn[] {
    const out: ShapeColumn[] = [];
    const visit = (node: PathNode, missingAbove: number | undefined) => {
      for (const child of node.children!.values()) {
        const missing = minLine(missingAbove, child.firstMissingLine);
        const reason = this.textReason(child);
        if (reason === undefined) visit(child, missing);
        else out.push(this.column(child, reason, missing, wholeFile));
      }
    };
    visit(this.root, undefined);
    return out;
  }

  /** undefined: flatten this object; 'value': a scalar column; else why it is JSON text. */
  private textReason(node: PathNode): TextReason | 'value' | undefined {
    const objects = node.count('object');
    const scalars = node.count('string') + node.count('number') + node.count('boolean');
    const arrays = node.count('array');
    if (objects === 0 && arrays === 0) return 'value';
    if (objects > 0 && (arrays > 0 || scalars > 0)) return 'mixed';
    if (arrays > 0) return 'array';
    if (node.overflow) return node.overflow;
    if (node.children!.size === 0) return 'empty-object';
    // A record has a core: most of its keys are in most of its occurrences (a few optional ones
    // become nullable columns). A bag's keys come and go with the record (a payload per event
    // type, keys that are ids or dates): most keys are rare.
    let core = 0;
    for (const child of node.children!.values())
      if (child.nonNull + child.nulls >= MIN_KEY_SHARE * objects) core++;
    if (core < MIN_CORE_SHARE * node.children!.size) return 'free-form';
    return undefined;
  }

  private column(
    node: PathNode,
    reason: TextReason | 'value',
    missingLine: number | undefined,
    wholeFile: boolean,
  ): ShapeColumn {
    const absent = this.records - node.nonNull;
    const kinds = [...node.kinds].map(([k, n]) => `${k} ${count(n)}`);
    if (node.nulls > 0) kinds.push(`null ${count(node.nulls)}`);
    if (this.records - node.nonNull - node.nulls > 0)
      kinds.push(`absent ${count(this.records - node.nonNull - node.nulls)}`);
    const nullable =
      absent === 0
        ? ''
        : `; null or absent in ${count(absent)} record(s) (first on line ${missingLine}): nullable`;
    if (reason !== 'value') {
      const why = {
        array: 'an array: kept as its JSON text',
        mixed: 'an object in some records and not in others: kept as JSON text',
        'free-form': `an object whose keys vary from record to record (most of its ${node.children?.size ?? 0} keys are in fewer than ${MIN_KEY_SHARE * 100}% of them): kept as its JSON text`,
        'too-deep': `an object at level ${MAX_FLATTEN_DEPTH} (columns go at most ${MAX_FLATTEN_DEPTH} keys deep): kept as its JSON text`,
        'too-many-keys': `an object with too many distinct keys to be columns (over ${MAX_OBJECT_KEYS}, or ${MAX_PATHS} paths in all): kept as its JSON text`,
        'empty-object': 'always an empty object: kept as its JSON text',
      }[reason];
      return {
        path: node.path,
        kind: 'json',
        kinds: kinds.join(', '),
        decision: {
          type: 'string',
          required: absent === 0,
          values: node.nonNull,
          empties: absent,
          ...(missingLine !== undefined && absent > 0 && { firstEmptyLine: missingLine }),
          why: `${why}${nullable}`,
        },
      };
    }
    // Only ever null: a nullable text column (the profile has nothing to judge).
    const d = (node.profile ?? new ColumnProfile()).decide(wholeFile);
    // The profile saw only the values; a null or an absent path is the record's empty cell.
    const firstEmptyLine = minLine(d.firstEmptyLine, absent > 0 ? missingLine : undefined);
    const decision: ColumnDecision = {
      ...d,
      required: d.required && absent === 0,
      empties: d.empties + absent,
      ...(firstEmptyLine !== undefined && { firstEmptyLine }),
      why: `${d.why}${nullable}`,
    };
    return { path: node.path, kind: 'value', kinds: kinds.join(', '), decision };
  }
}

function bump(node: PathNode, kind: Kind): void {
  node.kinds.set(kind, (node.kinds.get(kind) ?? 0) + 1);
}

function countPaths(node: PathNode): number {
  let n = 1;
  if (node.children) for (const c of node.children.values()) n += countPaths(c);
  return n;
}

function minLine(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
