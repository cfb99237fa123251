// IBP and CROWN equal auto_LiRPA 0.4.0 number for number on the reference models (outputs, margins, layers, counts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeBounds } from '../../server/bounds/index';
import { lirpaCases, prepare, relErr } from './bounds-lirpa-helpers';

const TOL = 1e-6;

for (const ref of lirpaCases()) {
  for (const [method, key] of [['ibp', 'IBP'], ['crown', 'CROWN']] as const) {
    test(`${key} matches auto_LiRPA on ${ref.file}`, () => {
      const { bg, region, spec } = prepare(ref);
      const r = computeBounds(bg, region, { method, spec });
      const R = ref.methods[key];
      const M = ref.margin.methods[key];
      const out = Math.max(relErr(r.output.lower, R.lower), relErr(r.output.upper, R.upper!));
      const margin = Math.max(relErr(r.spec!.lower, M.lower), relErr(r.spec!.upper, M.upper!));
      assert.equal(r.layers.length, ref.relu_layers.length);
      let layers = 0;
      r.layers.forEach((l, k) => {
        assert.equal(l.name, ref.relu_layers[k].relu_onnx_node);
        assert.equal(l.preActivation, ref.relu_layers[k].preact_tensor);
        layers = Math.max(layers, relErr(l.lower, R.layer_bounds![k].lower), relErr(l.upper, R.layer_bounds![k].upper));
      });
      console.log(`${ref.file} ${key}: max rel error output ${out.toExponential(2)}, margin ${margin.toExponential(2)}, layers ${layers.toExponential(2)}`);
      assert.ok(out <= TOL, `output bounds differ by ${out}`);
      assert.ok(margin <= TOL, `margin bounds differ by ${margin}`);
      assert.ok(layers <= TOL, `pre-activation bounds differ by ${layers}`);
      assert.deepEqual(r.layers.map((l) => l.unstable), R.unstable);
      assert.deepEqual(r.layers.map((l) => l.active), R.active);
      assert.deepEqual(r.layers.map((l) => l.inactive), R.inactive);
      for (let i = 0; i < ref.empirical.min.length; i++) {
        assert.ok(r.output.lower[i] <= ref.empirical.min[i] && r.output.upper[i] >= ref.empirical.max[i], `output ${i} misses a sample`);
      }
    });
  }
}
