// Runs `graftcert verify` on every VNN-COMP instance of instances.csv and compares with the agreed answers.
//
//   npx tsx bench/vnncomp.ts [--timeout 60] [--filter REGEX] [--csv path] [--workers N]
//
// --workers N is passed to `verify` (threads for branch-and-bound domains; its default when absent: min(2, cores)).
// bench/bab-workers.ts compares 1 thread with N workers instance by instance.
//
// Each instance runs in its own process (a synchronous bound pass on a big model cannot be interrupted in-process),
// killed 15 s after its timeout, which then counts as a timeout.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseResultFile } from '../server/certify/vnnlib/index';

const root = resolve(__dirname, '..');

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const timeout = Number(flag('timeout', '60'));
const filter = new RegExp(flag('filter', '.'));
const workers = flag('workers', '');
if (workers !== '' && !(Number.isInteger(Number(workers)) && Number(workers) >= 1)) {
  console.error(`bench/vnncomp.ts: --workers ${workers} is not a positive integer`);
  process.exit(2);
}
const csv = resolve(flag('csv', join(root, '..', 'shared', 'benchmarks', 'vnncomp', 'instances.csv')));

interface Row {
  benchmark: string;
  onnx: string;
  vnnlib: string;
  expected: string;
  fastest: number;
  tool: string;
}

interface Run extends Row {
  result: string;
  time: number;
  method: string;
  domains: number;
  phases: { falsify_s: number; bounds_s: number; bab_s: number };
  note: string;
}

const rows: Row[] = readFileSync(csv, 'utf8')
  .trim()
  .split(/\r?\n/)
  .slice(1)
  .map((line) => {
    const [benchmark, onnx, vnnlib, , expected, fastest, tool] = line.split(',');
    return { benchmark, onnx, vnnlib, expected, fastest: Number(fastest), tool };
  })
  .filter((r) => filter.test(`${r.benchmark},${r.onnx},${r.vnnlib}`));

const work = mkdtempSync(join(tmpdir(), 'graftcert-vnncomp-'));
const runs: Run[] = [];
const pad = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s.padEnd(n));
console.log(`${rows.length} instances from ${csv}, timeout ${timeout} s${workers !== '' ? `, --workers ${workers}` : ''}\n`);
console.log(`${pad('benchmark', 24)} ${pad('instance', 58)} ${pad('result', 8)} ${pad('expected', 8)} ${'time'.padStart(7)} ${'best'.padStart(7)}  ok  how`);
for (const [i, row] of rows.entries()) {
  const results = join(work, `result-${i}.txt`);
  const dir = dirname(csv);
  const t0 = performance.now();
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'server', 'cli.ts'), 'verify', join(dir, row.onnx), join(dir, row.vnnlib), '--timeout', String(timeout), '--results', results, '--json', ...(workers !== '' ? ['--workers', workers] : [])],
    { cwd: root, encoding: 'utf8', timeout: (timeout + 15) * 1000, maxBuffer: 64 << 20 },
  );
  const wall = (performance.now() - t0) / 1000;
  let run: Run;
  if (child.error !== undefined || child.status !== 0) {
    const killed = child.signal !== null || (child.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    const why = killed ? 'killed after the timeout' : (child.stderr ?? '').trim().split('\n').slice(-1)[0] ?? '';
    run = { ...row, result: killed ? 'timeout' : 'error', time: wall, method: '', domains: 0, phases: { falsify_s: 0, bounds_s: 0, bab_s: 0 }, note: why };
  } else {
    const doc = JSON.parse(child.stdout) as { result: string; time_s: number; method: string | null; domains: number; reason: string | null; phases: Run['phases'] };
    // The result file must agree with the JSON and parse as VNN-COMP's format.
    const file = parseResultFile(readFileSync(results, 'utf8'), results);
    const note = file.status !== doc.result ? `result file says ${file.status}` : doc.reason ?? '';
    run = { ...row, result: doc.result, time: doc.time_s, method: doc.method ?? '', domains: doc.domains, phases: doc.phases, note };
  }
  runs.push(run);
  const decided = run.result === 'sat' || run.result === 'unsat';
  const mark = !decided ? ' · ' : run.result === run.expected ? ' ✓ ' : ' ✗ ';
  const how = run.method + (run.domains > 0 ? ` (${run.domains} domains)` : '') + (run.note ? ` ${run.note}` : '');
  const instance = `${basename(row.onnx, '.onnx')} ${basename(row.vnnlib, '.vnnlib')}`;
  console.log(
    `${pad(row.benchmark, 24)} ${pad(instance, 58)} ${pad(run.result, 8)} ${pad(row.expected, 8)} ${run.time.toFixed(1).padStart(7)} ${row.fastest.toFixed(1).padStart(7)} ${mark} ${how}`,
  );
}
rmSync(work, { recursive: true, force: true });

function summary(label: string, list: Run[]): string {
  const decided = list.filter((r) => r.result === 'sat' || r.result === 'unsat');
  const correct = decided.filter((r) => r.result === r.expected).length;
  const wrong = decided.length - correct;
  const timeouts = list.filter((r) => r.result === 'timeout').length;
  const errors = list.filter((r) => r.result === 'error').length;
  const unknown = list.filter((r) => r.result === 'unknown').length;
  const time = list.reduce((s, r) => s + r.time, 0);
  return `${pad(label, 24)} ${String(list.length).padStart(5)} ${String(correct).padStart(8)} ${String(wrong).padStart(6)} ${`${decided.length} (${((100 * decided.length) / Math.max(1, list.length)).toFixed(0)} %)`.padStart(11)} ${String(timeouts).padStart(9)} ${String(unknown).padStart(8)} ${String(errors).padStart(7)} ${time.toFixed(0).padStart(8)}`;
}

console.log(`\n${pad('benchmark', 24)} ${'runs'.padStart(5)} ${'correct'.padStart(8)} ${'WRONG'.padStart(6)} ${'decided'.padStart(11)} ${'timeouts'.padStart(9)} ${'unknown'.padStart(8)} ${'errors'.padStart(7)} ${'time s'.padStart(8)}`);
for (const b of [...new Set(runs.map((r) => r.benchmark))]) console.log(summary(b, runs.filter((r) => r.benchmark === b)));
console.log(summary('all', runs));
const phase = (k: keyof Run['phases']) => runs.reduce((s, r) => s + r.phases[k], 0);
console.log(`\ntime went to: falsification ${phase('falsify_s').toFixed(0)} s, bounds ${phase('bounds_s').toFixed(0)} s, branch and bound ${phase('bab_s').toFixed(0)} s`);
const wrong = runs.filter((r) => (r.result === 'sat' || r.result === 'unsat') && r.result !== r.expected);
if (wrong.length > 0) {
  console.log(`\nWRONG ANSWERS:\n${wrong.map((r) => `  ${r.onnx} ${r.vnnlib}: ${r.result}, expected ${r.expected}`).join('\n')}`);
  process.exitCode = 1;
}
