// Branch and bound on 1 thread vs a pool of worker threads: `graftcert verify --workers 1` against `--workers N` on
// VNN-COMP instances that take seconds in one thread (ACAS Xu input splitting, reach_prob_density, mnist_fc ReLU
// splitting), same answers required; wall time, CPU time and the speed-up.
//
//   npx tsx bench/bab-workers.ts [--workers 2] [--timeout 60] [--filter REGEX] [--reps 1] [--tsx]
//
// Runs the bundle (dist/cli.js, dist/bab-worker.js: `node esbuild.mjs` first) so worker start-up is what users get;
// --tsx runs the TypeScript sources instead (each worker then compiles them: slower start). CPU time (user + sys of
// the whole process, every thread) comes from /usr/bin/time where present: with the machine shared, wall-time ratios
// move with the load, and CPU(N)/CPU(1) says what the parallel run cost in extra work.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const root = resolve(__dirname, '..');

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const workers = Number(flag('workers', '2'));
const timeout = Number(flag('timeout', '60'));
const reps = Math.max(1, Number(flag('reps', '1')));
const filter = new RegExp(flag('filter', '.'));
const useTsx = process.argv.includes('--tsx');
const dir = resolve(flag('dir', join(root, '..', 'shared', 'benchmarks', 'vnncomp')));

/** Instances that take ~2–60 s in one thread on this kind of machine (bench/vnncomp.ts), BaB doing most of it. */
const instances: [string, string][] = [
  ['2021_acasxu/onnx/ACASXU_run2a_4_8_batch_2000.onnx', '2021_acasxu/vnnlib/prop_1.vnnlib'],
  ['2021_acasxu/onnx/ACASXU_run2a_3_9_batch_2000.onnx', '2021_acasxu/vnnlib/prop_1.vnnlib'],
  ['2021_acasxu/onnx/ACASXU_run2a_5_9_batch_2000.onnx', '2021_acasxu/vnnlib/prop_1.vnnlib'],
  ['2021_acasxu/onnx/ACASXU_run2a_3_5_batch_2000.onnx', '2021_acasxu/vnnlib/prop_1.vnnlib'],
  ['2022_reach_prob_density/onnx/gcas.onnx', '2022_reach_prob_density/vnnlib/gcas_4.vnnlib'],
  ['2022_reach_prob_density/onnx/vdp.onnx', '2022_reach_prob_density/vnnlib/vdp_4.vnnlib'],
  ['2022_mnist_fc/onnx/mnist-net_256x2.onnx', '2022_mnist_fc/vnnlib/prop_8_0.03.vnnlib'],
  // Undecided within the timeout in one thread: the figure is domains per second.
  ['2022_mnist_fc/onnx/mnist-net_256x4.onnx', '2022_mnist_fc/vnnlib/prop_14_0.05.vnnlib'],
  ['2022_mnist_fc/onnx/mnist-net_256x6.onnx', '2022_mnist_fc/vnnlib/prop_8_0.05.vnnlib'],
];

interface Run {
  result: string;
  wall: number;
  cpu: number | null;
  domains: number;
  poolDomains: number;
  startup: number | null;
  note: string;
}

const cli = useTsx ? ['--import', 'tsx', join(root, 'server', 'cli.ts')] : [join(root, 'dist', 'cli.js')];
if (!useTsx && !existsSync(join(root, 'dist', 'bab-worker.js'))) {
  console.error('bench/bab-workers.ts: dist/bab-worker.js is missing — run `node esbuild.mjs` first (or pass --tsx)');
  process.exit(2);
}
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const work = mkdtempSync(join(tmpdir(), 'graftcert-bab-workers-'));

function verify(onnx: string, vnnlib: string, threads: number): Run {
  const args = [...cli, 'verify', join(dir, onnx), join(dir, vnnlib), '--timeout', String(timeout), '--workers', String(threads), '--json'];
  const cpuFile = join(work, 'cpu.txt');
  const [cmd, argv] = timeBin !== null ? [timeBin, ['-f', '%U %S', '-o', cpuFile, process.execPath, ...args]] : [process.execPath, args];
  const t0 = performance.now();
  const child = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', timeout: (timeout + 15) * 1000, maxBuffer: 64 << 20 });
  const wall = (performance.now() - t0) / 1000;
  let cpu: number | null = null;
  if (timeBin !== null && existsSync(cpuFile)) {
    const [u, s] = readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
    if (Number.isFinite(u) && Number.isFinite(s)) cpu = u + s;
    rmSync(cpuFile, { force: true });
  }
  if (child.status !== 0) {
    const last = (child.stderr ?? '').trim().split('\n').slice(-1)[0] ?? '';
    return { result: child.signal !== null ? 'killed' : 'error', wall, cpu, domains: 0, poolDomains: 0, startup: null, note: last };
  }
  const doc = JSON.parse(child.stdout) as {
    result: string;
    time_s: number;
    domains: number;
    reason: string | null;
    pool: { workers: number; domains: number; startup_s: number | null } | null;
  };
  return { result: doc.result, wall: doc.time_s, cpu, domains: doc.domains, poolDomains: doc.pool?.domains ?? 0, startup: doc.pool?.startup_s ?? null, note: doc.reason ?? '' };
}

/** The run with the smaller wall time of `reps`. */
function best(onnx: string, vnnlib: string, threads: number): Run {
  let pick: Run | null = null;
  for (let r = 0; r < reps; r++) {
    const run = verify(onnx, vnnlib, threads);
    if (pick === null || run.wall < pick.wall) pick = run;
  }
  return pick!;
}

const pad = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s.padEnd(n));
const num = (v: number | null, digits = 1) => (v === null ? '–' : v.toFixed(digits));
const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');
console.log(`branch and bound: 1 thread vs ${workers} workers (${useTsx ? 'TypeScript sources' : 'bundle'}), timeout ${timeout} s, best of ${reps}; load average ${load()}\n`);
console.log(
  `${pad('instance', 44)} ${pad('result', 8)} ${'t1 s'.padStart(7)} ${`t${workers} s`.padStart(7)} ${'speed-up'.padStart(9)} ${'cpu1 s'.padStart(7)} ${`cpu${workers} s`.padStart(7)} ${'domains'.padStart(13)} ${'in pool'.padStart(8)} ${'start s'.padStart(8)}`,
);
const ratios: number[] = [];
let mismatches = 0;
for (const [onnx, vnnlib] of instances) {
  const name = `${basename(onnx, '.onnx').replace('ACASXU_run2a_', 'acas_').replace('_batch_2000', '')} ${basename(vnnlib, '.vnnlib')}`;
  if (!filter.test(`${onnx} ${vnnlib} ${name}`)) continue;
  if (!existsSync(join(dir, onnx)) || !existsSync(join(dir, vnnlib))) {
    console.log(`${pad(name, 44)} missing from ${dir}`);
    continue;
  }
  const one = best(onnx, vnnlib, 1);
  const many = best(onnx, vnnlib, workers);
  const decided = (r: Run) => r.result === 'sat' || r.result === 'unsat';
  // Undecided runs: compare throughput (domains per second) instead of time.
  const speedup = decided(one) && decided(many) ? one.wall / many.wall : one.domains > 0 ? many.domains / many.wall / (one.domains / one.wall) : NaN;
  if (Number.isFinite(speedup)) ratios.push(speedup);
  let note = '';
  if (decided(one) && decided(many) && one.result !== many.result) {
    note = `  ANSWERS DIFFER: ${one.result} vs ${many.result}`;
    mismatches++;
  } else if (!decided(one) || !decided(many)) note = `  (${one.result}/${many.result}: speed-up in domains/s)`;
  console.log(
    `${pad(name, 44)} ${pad(many.result === one.result ? one.result : `${one.result}/${many.result}`, 8)} ${num(one.wall).padStart(7)} ${num(many.wall).padStart(7)} ${(Number.isFinite(speedup) ? `${speedup.toFixed(2)}×` : '–').padStart(9)} ${num(one.cpu).padStart(7)} ${num(many.cpu).padStart(7)} ${`${one.domains}/${many.domains}`.padStart(13)} ${String(many.poolDomains).padStart(8)} ${num(many.startup, 2).padStart(8)}${note}`,
  );
}
rmSync(work, { recursive: true, force: true });
if (ratios.length > 0) {
  const geo = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
  console.log(`\ngeometric mean speed-up ${geo.toFixed(2)}× over ${ratios.length} instances; load average now ${load()} (speed-ups need idle cores)`);
}
if (mismatches > 0) {
  console.log(`\n${mismatches} instance(s) answered differently with workers`);
  process.exitCode = 1;
}
