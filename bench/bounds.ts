// Bound-engine timings on the auto_LiRPA reference models next to auto_LiRPA's own (ratio < 1 = faster).
// Usage: npx tsx bench/bounds.ts [filter] [--alpha] [--reps N]   (α-CROWN rows only with --alpha: seconds each)
// Like auto_LiRPA's time_s (compute_bounds on an already built BoundedModule), the timed region is computeBounds on
// a prebuilt BoundGraph; the one-time build (ONNX → bound graph, and the per-model products CROWN caches on first
// use) is timed separately and printed per model.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadModelFile } from '../server/onnx/load';
import { buildBoundGraph, computeBounds, linfBall, marginSpec } from '../server/bounds/index';
import { boundsHelperStats, stopBoundsHelper } from '../server/bounds/parallel';

const lirpa = path.resolve(__dirname, '..', '..', 'shared', 'benchmarks', 'lirpa');
const args = process.argv.slice(2);
const withAlpha = args.includes('--alpha');
const repsAt = args.indexOf('--reps');
const repsArg = repsAt >= 0 ? Number(args[repsAt + 1]) : NaN;
const filter = args.find((a, i) => !a.startsWith('--') && (repsAt < 0 || i !== repsAt + 1));

const WARM_CALLS = 25;
const WARM_MS = 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const rows: string[][] = [['case', 'method', 'median ms', 'min ms', 'auto_LiRPA ms', 'ratio (median)', 'ratio (min)']];
const builds: string[] = [];
const built = new Map<string, ReturnType<typeof buildBoundGraph>>();
for (const f of readdirSync(path.join(lirpa, 'ref')).sort()) {
  if (filter && !f.includes(filter)) continue;
  const ref = JSON.parse(readFileSync(path.join(lirpa, 'ref', f), 'utf8'));
  let bg = built.get(ref.onnx_file);
  const region = linfBall(ref.x0, ref.eps);
  if (bg === undefined) {
    const t0 = performance.now();
    bg = buildBoundGraph(loadModelFile(path.join(lirpa, ref.onnx_file)).graph);
    const t1 = performance.now();
    computeBounds(bg, region, { method: 'crown' }); // builds and caches CROWN's per-model products
    const t2 = performance.now();
    // V8 compiles the hot loops in tiers over the first calls (and the helper thread its own): warm up to the
    // steady state a server or a certify run works in, as auto_LiRPA's repeats did.
    let calls = 0;
    while (calls < WARM_CALLS || performance.now() - t2 < WARM_MS) {
      computeBounds(bg, region, { method: 'crown' });
      computeBounds(bg, region, { method: 'ibp' });
      calls++;
    }
    const t3 = performance.now();
    built.set(ref.onnx_file, bg);
    builds.push(`${ref.onnx_file}: load + bound graph ${(t1 - t0).toFixed(0)} ms, first CROWN call (with the cached products) ${(t2 - t1).toFixed(0)} ms, warm-up ${calls} CROWN + IBP calls ${(t3 - t2).toFixed(0)} ms`);
  }
  const spec = marginSpec(bg.outputSize, ref.margin.label);
  const cases: [string, 'ibp' | 'crown' | 'alpha-crown', boolean, number][] = [
    ['IBP', 'ibp', false, ref.methods.IBP.time_s],
    ['CROWN', 'crown', false, ref.methods.CROWN.time_s],
    ['IBP margin', 'ibp', true, ref.margin.methods.IBP.time_s],
    ['CROWN margin', 'crown', true, ref.margin.methods.CROWN.time_s],
  ];
  if (withAlpha) {
    cases.push(['α-CROWN (out+margin)', 'alpha-crown', true, ref.methods['alpha-CROWN'].time_s + ref.margin.methods['alpha-CROWN'].time_s]);
  }
  for (const [label, method, margin, refTime] of cases) {
    const reps = method === 'alpha-crown' ? 1 : Number.isFinite(repsArg) ? repsArg : method === 'ibp' ? 41 : 11;
    const times: number[] = [];
    for (let i = 0; i < (method === 'alpha-crown' ? 1 : 3); i++) computeBounds(bg, region, { method, spec: margin ? spec : undefined }); // warm-up
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      computeBounds(bg, region, { method, spec: margin ? spec : undefined });
      times.push(performance.now() - t);
    }
    const ours = median(times);
    const best = Math.min(...times);
    rows.push([f.replace('.json', ''), label, ours.toFixed(2), best.toFixed(2), (refTime * 1000).toFixed(2), (ours / (refTime * 1000)).toFixed(2), (best / (refTime * 1000)).toFixed(2)]);
  }
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((v, c) => (c < 2 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  '));
console.log('\nauto_LiRPA times: its own compute_bounds wall time (min of repeats, 2 threads) from the reference JSONs,');
console.log('on an already built BoundedModule; ours: computeBounds on a prebuilt BoundGraph (median and min of repeats,');
console.log('after warm-up; "ratio (min)" compares like with like: min of repeats on both sides;');
const threads = process.env.GRAFTCERT_BOUND_THREADS === '1' ? 'one thread (GRAFTCERT_BOUND_THREADS=1)' : `two threads: ${boundsHelperStats().handoffs} CROWN passes split with the helper thread`;
console.log(`${threads}, after warm-up). One-time builds, outside the timed region:`);
for (const b of builds) console.log('  ' + b);
void stopBoundsHelper();
