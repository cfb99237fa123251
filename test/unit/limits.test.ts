// Resource limits (server/limits.ts): each limit refuses with one sentence before allocating when hit, and stays out
// of the way when not; configured by environment, CLI flags and VS Code settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBoundGraph, boundMemoryEstimate, computeBounds, linfBall } from '../../server/bounds/index';
import { verifyProperty } from '../../server/certify/verify/index';
import { parseVnnlib } from '../../server/certify/vnnlib/index';
import { currentLimits, DEFAULT_LIMITS, LIMIT_KNOBS, LimitError, limitEnv, setLimits, type LimitSettings } from '../../server/limits';
import { attr, encodeModel, type ModelSpec } from '../../server/onnx/encode';
import { ModelError } from '../../server/onnx/errors';
import { loadModelBytes, loadModelFile } from '../../server/onnx/load';
import { randomTensor, repoRoot, rng, tempDir, tinyMlpSpec } from '../helpers/onnx-models';

function withLimits<T>(settings: LimitSettings, fn: () => T): T {
  const saved = Object.values(LIMIT_KNOBS).map((k) => [k.env, process.env[k.env]] as const);
  setLimits(settings);
  const restore = () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  let result: T;
  try {
    result = fn();
  } catch (error) {
    restore();
    throw error;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}

function modelError(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ModelError, `expected a ModelError, got ${String(error)}`);
    assert.ok(!error.message.includes('\n'));
    return error;
  }
  assert.fail('expected a ModelError');
}

/** x[1,784] → 100 → ReLU → 10: big enough for the memory estimate to matter at small limits. */
function mnistMlp(): ModelSpec {
  const next = rng(3);
  return {
    inputs: [{ name: 'x', shape: [1, 784] }],
    outputs: [{ name: 'y', shape: [1, 10] }],
    nodes: [
      { opType: 'Gemm', inputs: ['x', 'W1', 'b1'], outputs: ['h'], attrs: { transB: attr.int(1) } },
      { opType: 'Relu', inputs: ['h'], outputs: ['a'] },
      { opType: 'Gemm', inputs: ['a', 'W2', 'b2'], outputs: ['y'], attrs: { transB: attr.int(1) } },
    ],
    initializers: [randomTensor('W1', [100, 784], next, 0.05), randomTensor('b1', [100], next), randomTensor('W2', [10, 100], next), randomTensor('b2', [10], next)],
  };
}

test('defaults, the GRAFTCERT_MAX_* variables, setLimits and the settings → environment mapping', () => {
  const env: NodeJS.ProcessEnv = {};
  assert.deepEqual(currentLimits(env), DEFAULT_LIMITS);
  assert.equal(DEFAULT_LIMITS.modelBytes, 1024 ** 3);
  assert.equal(DEFAULT_LIMITS.tensorElements, 2 ** 28);
  setLimits({ modelMb: 2, tensorElements: 1000, domains: 7, memoryMb: 0.5 }, env);
  assert.deepEqual(currentLimits(env), { modelBytes: 2 * 1024 ** 2, tensorElements: 1000, babDomains: 7, memoryBytes: 512 * 1024 });
  // Nonsense values keep the default rather than disabling a limit.
  assert.deepEqual(currentLimits({ GRAFTCERT_MAX_MODEL_MB: 'lots', GRAFTCERT_MAX_DOMAINS: '-3', GRAFTCERT_MAX_MEMORY_MB: '0' }), DEFAULT_LIMITS);
  assert.deepEqual(limitEnv({ domains: 5 }), { GRAFTCERT_MAX_DOMAINS: '5' });
  // package.json contributes one setting per limit, and extension/config.ts passes each as its variable.
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const settings = Object.keys(pkg.contributes.configuration.properties ?? pkg.contributes.configuration[0].properties).filter((k) => k.startsWith('graftcert.limits.'));
  assert.deepEqual(settings.sort(), Object.values(LIMIT_KNOBS).map((k) => k.setting).sort());
  const config = readFileSync(join(repoRoot, 'extension', 'config.ts'), 'utf8');
  for (const k of Object.values(LIMIT_KNOBS)) assert.ok(config.includes(`${k.setting.replace('graftcert.limits.', '')}: '${k.env}'`), k.setting);
});

test('model size: a file over the limit is refused by its size before it is read; under it, it loads', () => {
  const dir = tempDir();
  const file = join(dir, 'big.onnx');
  writeFileSync(file, encodeModel(mnistMlp())); // ≈ 320 kB
  const e = withLimits({ modelMb: 0.25 }, () => modelError(() => loadModelFile(file)));
  assert.match(e.message, /^big\.onnx: the model is 31\d kB, over the 256 kB model-size limit — raise it with --max-model-mb or the graftcert\.limits\.modelMb setting/);
  withLimits({ modelMb: 1 }, () => assert.equal(loadModelFile(file).graph.nodes.length, 3));
  // Bytes handed over directly (the server, the certification workers) are checked as well.
  withLimits({ modelMb: 0.25 }, () => modelError(() => loadModelBytes(readFileSync(file), file)));
});

test('tensor elements: declared shapes over the limit are refused before allocation; shapes under it load', () => {
  const spec = tinyMlpSpec();
  const bytes = encodeModel(spec);
  const e = withLimits({ tensorElements: 10 }, () => modelError(() => loadModelBytes(bytes, 'w.onnx')));
  assert.match(e.message, /^w\.onnx: initialiser 'W1' has shape \[3, 4\], 12 elements, over the 10-element tensor limit — raise it with --max-tensor-elements/);
  withLimits({ tensorElements: 12 }, () => assert.equal(loadModelBytes(bytes, 'w.onnx').graph.nodes.length, 3));

  // A ConstantOfShape folding to 2^31 elements: refused at shape inference, before the fold allocates 16 GB.
  const bomb: ModelSpec = {
    ...spec,
    outputs: [...spec.outputs, { name: 'big' }],
    nodes: [
      ...spec.nodes,
      { opType: 'ConstantOfShape', inputs: ['shape'], outputs: ['big'], attrs: { value: attr.tensor({ dtype: 'float32', dims: [1], data: Float64Array.of(1) }) } },
    ],
    initializers: [...spec.initializers!, { name: 'shape', dims: [2], dtype: 'int64', data: [65536, 32768] }],
  };
  const t0 = performance.now();
  const b = modelError(() => loadModelBytes(encodeModel(bomb), 'bomb.onnx'));
  assert.match(b.message, /node 'ConstantOfShape_3' \(ConstantOfShape\): its output would have shape \[65536, 32768\], 2,147,483,648 elements, over the 268,435,456-element tensor limit/);
  assert.ok(performance.now() - t0 < 2000, 'refused without allocating');
  const small = { ...bomb, initializers: [...spec.initializers!, { name: 'shape', dims: [2], dtype: 'int64' as const, data: [2, 3] }] };
  assert.deepEqual(loadModelBytes(encodeModel(small), 'small.onnx').graph.constants.get('big')?.dims, [2, 3]);

  // A graph input declared with 2^40 elements.
  const wide = { ...spec, inputs: [{ name: 'x', shape: [1, 2 ** 40] }] };
  assert.match(modelError(() => loadModelBytes(encodeModel(wide), 'wide.onnx')).message, /graph input 'x' has shape \[1, 1099511627776\]/);
  // VNN-LIB: the tensor limit bounds declared indices too.
  withLimits({ tensorElements: 100 }, () => {
    assert.throws(() => parseVnnlib('(declare-const X_100 Real)', { file: 'p.vnnlib' }), /X_100 is beyond the 100-element tensor limit/);
  });
});

test('memory: a bound computation whose estimate is over the limit is refused before it runs; under it, it runs', () => {
  const graph = loadModelBytes(encodeModel(mnistMlp()), 'mlp.onnx').graph;
  const bg = buildBoundGraph(graph);
  const crown = boundMemoryEstimate(bg, 'crown');
  const alpha = boundMemoryEstimate(bg, 'alpha-crown');
  assert.ok(boundMemoryEstimate(bg, 'ibp') < crown && crown < alpha, `${crown} ${alpha}`);
  const region = linfBall(new Float64Array(784).fill(0.5), 0.01);
  const limitMb = (crown + alpha) / 2 / 1024 ** 2;
  withLimits({ memoryMb: limitMb }, () => {
    assert.equal(computeBounds(bg, region, { method: 'crown' }).output.lower.length, 10);
    assert.throws(
      () => computeBounds(bg, region, { method: 'alpha-crown' }),
      (e: unknown) =>
        e instanceof LimitError &&
        e.limit === 'memoryBytes' &&
        /^α-CROWN on this model needs about [\d.]+ MB of memory, over the [\d.]+ MB limit — use CROWN \(--method crown\), or raise it with --max-memory-mb/.test(e.message),
    );
  });
});

test('branch-and-bound domains: at the limit verify answers unknown with the reason, never unsat; under it, unsat', async () => {
  const { mlpGraph } = await import('./limits-fixtures');
  const { g, text } = mlpGraph();
  const p = parseVnnlib(text, { nInputs: 2, nOutputs: 1 });
  const limited = await withLimits({ domains: 1 }, () => verifyProperty(g, p, { timeout_s: 20 }));
  assert.equal(limited.result, 'unknown');
  assert.match(limited.reason ?? '', /^branch and bound stopped at 1 open domains, the domain limit, without a verdict — raise it with --max-domains/);
  const free = await verifyProperty(g, p, { timeout_s: 30 });
  assert.equal(free.result, 'unsat', free.reason ?? '');
  assert.ok(free.domains > 1);
});

test('CLI: --max-model-mb and --max-memory-mb refuse with the compiler-form line and exit 2', () => {
  const dir = tempDir();
  const file = join(dir, 'net.onnx');
  const spec = mnistMlp();
  writeFileSync(file, encodeModel({ ...spec, initializers: [...spec.initializers!, randomTensor('unused', [400, 1000], rng(4))] })); // ≈ 1.9 MB
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'server', 'cli.ts'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  const small = cli('inspect', file, '--max-model-mb', '1');
  assert.equal(small.status, 2, small.stderr);
  assert.match(small.stderr.trim(), /^graftcert: .*net\.onnx:1:1: error: the model is 1\.\d MB, over the 1 MB model-size limit — raise it with --max-model-mb/);
  assert.equal(small.stderr.trim().split('\n').length, 1);
  const mem = cli('bounds', file, '--eps', '0.01', '--method', 'alpha-crown', '--max-memory-mb', '1', '--json');
  assert.equal(mem.status, 2, mem.stderr);
  assert.equal(mem.stdout, '');
  assert.match(mem.stderr.trim(), /^graftcert: .*net\.onnx:1:1: error: α-CROWN on this model needs about [\d.]+ MB of memory, over the 1 MB limit — use CROWN \(--method crown\), or raise it with --max-memory-mb/);
});
