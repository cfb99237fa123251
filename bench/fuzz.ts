// The long fuzz run: seeded mutations of ONNX models and VNN-LIB properties, each case in a worker with a heap limit
// and a time limit; prints cases run per target, outcome counts, and every failure with its replay seed.
//
//   npx tsx bench/fuzz.ts [--cases N] [--seed S] [--target onnx|vnnlib|both] [--timeout-ms T] [--default-limits]
//
// --cases is per target (default 5000). --default-limits runs with the product's default limits instead of the tight
// fuzzing ones (FUZZ_LIMITS in test/helpers/fuzz.ts). Exit 1 when any case crashed, hung or ran out of memory.
import { describeFailure, FUZZ_LIMITS, runFuzz, type FuzzTarget } from '../test/helpers/fuzz';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main(): Promise<number> {
  const cases = Number(flag('cases', '5000'));
  const seed = Number(flag('seed', String(Math.floor(Math.random() * 2 ** 31))));
  const which = flag('target', 'both');
  const targets: FuzzTarget[] = which === 'both' ? ['onnx', 'vnnlib'] : [which as FuzzTarget];
  const caseTimeoutMs = Number(flag('timeout-ms', '20000'));
  const limits = process.argv.includes('--default-limits') ? {} : FUZZ_LIMITS;
  console.log(`fuzz: seed ${seed} (replay one case: GRAFTCERT_SEED=${seed} GRAFTCERT_FUZZ_CASE=i with the unit test, or --seed ${seed})`);
  console.log(`limits: ${Object.keys(limits).length === 0 ? 'product defaults' : JSON.stringify(limits)}; per-case limit ${caseTimeoutMs} ms; worker heap 512 MB`);
  let bad = 0;
  for (const target of targets) {
    const t0 = performance.now();
    const report = await runFuzz({ target, seed, cases, caseTimeoutMs, limits });
    const s = (performance.now() - t0) / 1000;
    const c = report.counts;
    console.log(
      `\n${target}: ${report.run} cases in ${s.toFixed(1)} s — ok ${c.ok}, clean error ${c['clean-error']}, crash ${c.crash}, hang ${c.hang}, out of memory ${c.oom}`,
    );
    for (const m of report.samples) console.log(`  e.g. ${m.length > 200 ? m.slice(0, 200) + '…' : m}`);
    for (const f of report.failures) console.log('  ' + describeFailure(report, f));
    bad += report.failures.length;
  }
  console.log(`\n${bad === 0 ? 'no failures' : `${bad} failures`}`);
  return bad === 0 ? 0 : 1;
}

void main().then((code) => process.exit(code));
