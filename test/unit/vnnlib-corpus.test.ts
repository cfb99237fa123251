// Every VNN-LIB file of the shared VNN-COMP benchmarks parses, with the sizes the benchmark implies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readVnnlibFile, summarizeProperty, VnnlibProperty } from '../../server/certify/vnnlib';

const repoRoot = resolve(__dirname, '..', '..');
const corpus = join(sharedRoot(), 'benchmarks', 'vnncomp');

function sharedRoot(): string {
  return resolve(repoRoot, '..', 'shared');
}

function vnnlibFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...vnnlibFiles(p));
    else if (/\.vnnlib(\.gz)?$/.test(entry.name)) out.push(p);
  }
  return out.sort();
}

/** Expected (inputs, outputs, boxes, disjuncts) per benchmark folder. */
const EXPECTED: Record<string, { inputs: number; outputs: number; boxes?: number; disjuncts?: number }> = {
  '2021_acasxu': { inputs: 5, outputs: 5, boxes: 1, disjuncts: 1 },
  '2021_cifar10_resnet': { inputs: 3072, outputs: 10, boxes: 1, disjuncts: 9 },
  '2021_eran': { inputs: 784, outputs: 10, boxes: 1, disjuncts: 9 },
  '2021_verivital': { inputs: 784, outputs: 10, boxes: 1, disjuncts: 9 },
  '2022_mnist_fc': { inputs: 784, outputs: 10, boxes: 1, disjuncts: 9 },
  '2022_oval21': { inputs: 3072, outputs: 10, boxes: 1, disjuncts: 9 },
  '2023_collins_rul_cnn': { inputs: 0, outputs: 1, boxes: 1, disjuncts: 2 },
};

test('the shared VNN-COMP corpus is present', () => {
  assert.ok(existsSync(corpus), `missing ${corpus}: the corpus is expected at <repo>/../shared/benchmarks/vnncomp`);
  assert.ok(vnnlibFiles(corpus).length > 0, `no .vnnlib files under ${corpus}`);
});

test('every .vnnlib in the corpus parses with plausible sizes', () => {
  const files = existsSync(corpus) ? vnnlibFiles(corpus) : [];
  assert.ok(files.length > 0, `no .vnnlib files under ${corpus}`);
  for (const file of files) {
    const bench = file.slice(corpus.length + 1).split('/')[0];
    let p: VnnlibProperty;
    try {
      p = readVnnlibFile(file);
    } catch (e) {
      assert.fail(`${file}: ${(e as Error).message}`);
    }
    const s = summarizeProperty(p);
    assert.ok(s.inputs > 0 && s.outputs > 0 && s.boxes > 0 && s.disjuncts > 0, `${file}: ${JSON.stringify(s)}`);
    for (const spec of p.specs) {
      for (let i = 0; i < p.nInputs; i++) {
        assert.ok(Number.isFinite(spec.box.lower[i]) && spec.box.lower[i] <= spec.box.upper[i], `${file}: X_${i}`);
      }
      for (const d of spec.disjuncts) assert.equal(d.A.length, d.rows * p.nOutputs);
    }
    const want = EXPECTED[bench];
    if (want) {
      if (want.inputs) assert.equal(s.inputs, want.inputs, `${file}: inputs`);
      assert.equal(s.outputs, want.outputs, `${file}: outputs`);
      if (want.boxes !== undefined) assert.equal(s.boxes, want.boxes, `${file}: boxes`);
      if (want.disjuncts !== undefined) assert.equal(s.disjuncts, want.disjuncts, `${file}: disjuncts`);
    }
  }
});

test('robustness files: label from the comment, ε from the file name', () => {
  const dir = join(corpus, '2022_mnist_fc', 'vnnlib');
  if (!existsSync(dir)) assert.fail(`missing ${dir}`);
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    const s = summarizeProperty(readVnnlibFile(file));
    const label = Number(/label: (\d+)/.exec(readFileSync(file, 'utf8'))![1]);
    const eps = Number(/_([\d.]+)\.vnnlib$/.exec(name)![1]);
    assert.equal(s.robustnessLabel, label, name);
    assert.ok(s.isLinfBall, `${name}: expected an L∞ ball`);
    assert.ok(Math.abs(s.isLinfBall.eps - eps) < 1e-6, `${name}: eps ${s.isLinfBall.eps}`);
    assert.deepEqual(s.isLinfBall.clip, [0, 1]);
  }
});

test('ACAS Xu property 3 lowers to the documented rows', () => {
  const p = readVnnlibFile(join(corpus, '2021_acasxu', 'vnnlib', 'prop_3.vnnlib'), { nInputs: 5, nOutputs: 5 });
  assert.deepEqual([...p.specs[0].box.lower], [-0.303531156, -0.009549297, 0.493380324, 0.3, 0.3]);
  assert.deepEqual([...p.specs[0].box.upper], [-0.298552812, 0.009549297, 0.5, 0.5, 0.5]);
  const d = p.specs[0].disjuncts[0];
  assert.equal(d.rows, 4);
  assert.deepEqual([...d.A.subarray(0, 5)], [1, -1, 0, 0, 0]);
  assert.deepEqual([...d.A.subarray(15, 20)], [1, 0, 0, 0, -1]);
  assert.deepEqual([...d.b], [0, 0, 0, 0]);
});

test('instances.csv: every listed property parses', () => {
  const csv = join(corpus, 'instances.csv');
  if (!existsSync(csv)) assert.fail(`missing ${csv}`);
  const lines = readFileSync(csv, 'utf8').trim().split('\n');
  const column = lines[0].split(',').indexOf('vnnlib');
  assert.ok(column >= 0, 'instances.csv has no vnnlib column');
  const seen = new Set<string>();
  for (const line of lines.slice(1)) seen.add(line.split(',')[column]);
  for (const rel of seen) assert.ok(readVnnlibFile(join(corpus, rel)).specs.length > 0, rel);
});
