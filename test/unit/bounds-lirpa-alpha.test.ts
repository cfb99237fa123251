// α-CROWN on the auto_LiRPA references: sound, never looser than CROWN, and at least 90 % of the reference's gain.
// The conv_bn cases at larger ε take tens of seconds each, so the default run covers one case per model and ε range
// (QUICK); GRAFTCERT_ALPHA_ALL=1 runs all 14 (bench-sized, minutes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeBounds } from '../../server/bounds/index';
import { lirpaCases, prepare } from './bounds-lirpa-helpers';

const QUICK = new Set([
  'fc_small_eps0.02.json', 'fc_small_eps0.05.json', 'fc_small_eps0.1.json',
  'mnist_norm_fc_eps0.01.json', 'mnist_norm_fc_eps0.02.json',
  'conv_small_eps0.02.json', 'conv_bn_eps0.005.json',
]);

const runAll = process.env.GRAFTCERT_ALPHA_ALL === '1';
const cases = lirpaCases().filter((ref) => runAll || QUICK.has(ref.file));
console.log(`# α-CROWN reference cases: ${cases.length}${runAll ? '' : ' (GRAFTCERT_ALPHA_ALL=1 runs all 14)'}`);

for (const ref of cases) {
  test(`α-CROWN on ${ref.file}`, () => {
    const { bg, region, spec } = prepare(ref);
    const crown = computeBounds(bg, region, { method: 'crown', spec });
    const r = computeBounds(bg, region, { method: 'alpha-crown', spec });
    const C = ref.methods.CROWN;
    const A = ref.methods['alpha-CROWN'];
    let ours = 0;
    let theirs = 0;
    for (let i = 0; i < C.lower.length; i++) {
      assert.ok(r.output.lower[i] <= ref.empirical.min[i] && r.output.upper[i] >= ref.empirical.max[i], `output ${i} misses a sample`);
      assert.ok(r.output.lower[i] >= crown.output.lower[i] && r.output.upper[i] <= crown.output.upper[i], `output ${i} looser than CROWN`);
      ours += C.upper![i] - C.lower[i] - (r.output.upper[i] - r.output.lower[i]);
      theirs += C.upper![i] - C.lower[i] - (A.upper![i] - A.lower[i]);
    }
    let oursM = 0;
    let theirsM = 0;
    const CM = ref.margin.methods.CROWN.lower;
    const AM = ref.margin.methods['alpha-CROWN'].lower;
    for (let i = 0; i < CM.length; i++) {
      assert.ok(r.spec!.lower[i] >= crown.spec!.lower[i], `margin ${i} looser than CROWN`);
      oursM += r.spec!.lower[i] - CM[i];
      theirsM += AM[i] - CM[i];
    }
    const ratio = theirs > 1e-6 ? ours / theirs : NaN;
    const ratioM = theirsM > 1e-6 ? oursM / theirsM : NaN;
    console.log(
      `${ref.file} α-CROWN: output gain ${ours.toFixed(5)} vs reference ${theirs.toFixed(5)} (ratio ${ratio.toFixed(3)}), ` +
        `margin gain ${oursM.toFixed(5)} vs ${theirsM.toFixed(5)} (ratio ${ratioM.toFixed(3)}), ${r.time_s.toFixed(2)} s`,
    );
    // A reference gain below 1e-6 is within the comparison tolerance: nothing to measure there.
    if (theirs > 1e-6) assert.ok(ratio >= 0.9, `output gain ratio ${ratio}`);
    if (theirsM > 1e-6) assert.ok(ratioM >= 0.9, `margin gain ratio ${ratioM}`);
  });
}
