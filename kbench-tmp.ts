import { readFileSync } from 'node:fs';
import { DEFAULT_SCHEMAS_DIR } from './core/contract';
import { columnProgramsFor } from './csv/byte-checks';
import { loadCompiledContract } from './csv/row-checker';
import { KernelScanner } from './csv/scan-kernel';
const v8 = require('v8'); if (process.env.WF) v8.setFlagsFromString(process.env.WF);
const { contract } = loadCompiledContract('registrations', DEFAULT_SCHEMAS_DIR)!;
const bytes = readFileSync(process.argv[2]!);
const header = bytes.subarray(0, bytes.indexOf(10)).toString().split(',');
const sourceIndex = contract.columns.map((c) => header.indexOf(c.source));
let failing = 0, out = 0;
const k = new KernelScanner(contract.csv, columnProgramsFor(contract).columns!, sourceIndex, 1 << 20, 0, { formulaSamplesFull: true },
  (b) => { out += b.length; }, () => { failing++; });
const t0 = process.hrtime.bigint();
let carry = Buffer.alloc(0); const times: number[] = [];
for (let at = 0; at < bytes.length; at += 1 << 20) {
  const t = process.hrtime.bigint();
  const buf = k.join(carry, bytes.subarray(at, at + (1 << 20)));
  const used = k.scanEnded(buf, false);
  carry = buf.subarray(used, buf.length - 1);
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
}
console.log('total ms', Number(process.hrtime.bigint() - t0) / 1e6, 'failing', failing, 'out', out, 'first blocks', times.slice(0, 5).map(x=>x.toFixed(1)).join(' '), 'median', times.sort((a,b)=>a-b)[times.length>>1]!.toFixed(2));
