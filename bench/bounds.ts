// Bound-engine timings on the auto_LiRPA reference models next to auto_LiRPA's own (median of runs; ratio < 1 = faster).
// Usage: npx tsx bench/bounds.ts [filter] [--alpha]   (α-CROWN rows only with --alpha: they take seconds each)
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadModelFile } from '../server/onnx/load';
import { buildBoundGraph, computeBounds, linfBall, marginSpec } from '../server/bounds/index';

const lirpa = path.resolve(__dirname, '..', '..', 'shared', 'benchmarks', 'lirpa');
const args = process.argv.slice(2);
const withAlpha = args.includes('--alpha');
const filter = args.find((a) => !a.startsWith('--'));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const rows: string[][] = [['case', 'method', 'graftcert ms', 'auto_LiRPA ms', 'ratio']];
for (const f of readdirSync(path.join(lirpa, 'ref')).sort()) {
  if (filter && !f.includes(filter)) continue;
  const ref = JSON.parse(readFileSync(path.join(lirpa, 'ref', f), 'utf8'));
  const bg = buildBoundGraph(loadModelFile(path.join(lirpa, ref.onnx_file)).graph);
  const region = linfBall(ref.x0, ref.eps);
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
    const reps = method === 'alpha-crown' ? 1 : 5;
    const times: number[] = [];
    computeBounds(bg, region, { method, spec: margin ? spec : undefined }); // warm-up
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      computeBounds(bg, region, { method, spec: margin ? spec : undefined });
      times.push(performance.now() - t);
    }
    const ours = median(times);
    rows.push([f.replace('.json', ''), label, ours.toFixed(1), (refTime * 1000).toFixed(1), (ours / (refTime * 1000)).toFixed(2)]);
  }
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((v, c) => (c < 2 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  '));
console.log('\nauto_LiRPA times: its own compute_bounds wall time (min of repeats, 2 threads) from the reference JSONs.');
