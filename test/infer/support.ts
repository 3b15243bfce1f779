/** Writes a small CSV to a temporary folder and infers its contract. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inferContract, type Inference, type InferOptions } from '../../infer/infer';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A file with these bytes (a string is written as UTF-8); returns its path. */
export function csvFile(content: string | Buffer, name = 'data.csv'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'etl-infer-'));
  dirs.push(dir);
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

export async function inferText(content: string | Buffer, options: InferOptions = {}): Promise<Inference> {
  return inferContract(csvFile(content), options);
}

/** A header line and `rows` generated lines, LF-separated. */
export function lines(header: string, rows: number, row: (i: number) => string): string {
  return [header, ...Array.from({ length: rows }, (_, i) => row(i))].join('\n') + '\n';
}

/** The inferred column by its SQL name. */
export function column(inference: Inference, name: string) {
  const c = inference.columns.find((x) => x.name === name);
  if (!c) throw new Error(`no column ${name}: ${inference.columns.map((x) => x.name).join(', ')}`);
  return c;
}
