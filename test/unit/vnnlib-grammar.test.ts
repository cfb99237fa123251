// The TextMate grammars and the language configuration: valid JSON, scope names, and what they colour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const syntaxes = resolve(__dirname, '..', '..', 'syntaxes');
const load = (name: string) => JSON.parse(readFileSync(resolve(syntaxes, name), 'utf8'));

interface Rule {
  name?: string;
  match?: string;
  begin?: string;
  end?: string;
  patterns?: Rule[];
  repository?: Record<string, Rule>;
  include?: string;
  captures?: Record<string, { name: string }>;
}

/** Every regex in the grammar compiles (the JS flavour is close enough to Oniguruma for these). */
function allRegexes(rule: Rule, out: string[] = []): string[] {
  for (const key of ['match', 'begin', 'end'] as const) if (rule[key]) out.push(rule[key]!);
  for (const p of rule.patterns ?? []) allRegexes(p, out);
  for (const r of Object.values(rule.repository ?? {})) allRegexes(r, out);
  return out;
}

/** Scopes a line with a flat grammar: at each position the earliest match wins, ties go to the first rule. */
function scopeFlat(rules: Rule[], line: string): [string, string][] {
  const compiled = rules.filter((r) => r.match).map((r) => ({ name: r.name!, re: new RegExp(r.match!, 'g') }));
  const out: [string, string][] = [];
  let pos = 0;
  while (pos < line.length) {
    let best: { name: string; index: number; text: string } | undefined;
    for (const { name, re } of compiled) {
      re.lastIndex = pos;
      const m = re.exec(line);
      if (m && m[0].length > 0 && (!best || m.index < best.index)) best = { name, index: m.index, text: m[0] };
    }
    if (!best) break;
    out.push([best.text.trim(), best.name]);
    pos = best.index + best.text.length;
  }
  return out;
}

test('vnnlib grammar: JSON, scope name, regexes compile', () => {
  const g = load('vnnlib.tmLanguage.json');
  assert.equal(g.scopeName, 'source.vnnlib');
  for (const re of allRegexes(g)) assert.doesNotThrow(() => new RegExp(re), re);
});

test('vnnlib grammar: scopes of a VNN-COMP line and a 2.0 line', () => {
  const g = load('vnnlib.tmLanguage.json');
  const scopes = new Map(scopeFlat(g.patterns, '(assert (<= X_12 -1.5e-05)) ; unscaled (1500, 1800)'));
  assert.equal(scopes.get('assert'), 'keyword.control.command.vnnlib');
  assert.equal(scopes.get('<='), 'keyword.operator.comparison.vnnlib');
  assert.equal(scopes.get('X_12'), 'variable.parameter.input.vnnlib');
  assert.equal(scopes.get('-1.5e-05'), 'constant.numeric.vnnlib');
  assert.equal(scopes.get('; unscaled (1500, 1800)'), 'comment.line.semicolon.vnnlib');
  const or = new Map(scopeFlat(g.patterns, '(assert (or (and (>= Y_1 Y_7))'));
  assert.equal(or.get('or'), 'keyword.operator.logical.vnnlib');
  assert.equal(or.get('Y_7'), 'variable.other.output.vnnlib');
  const v2 = new Map(scopeFlat(g.patterns, '(vnnlib-version <2.0>) (declare-input X float32 [28,28]) (<= (- Y[0] Y[9]) 0.0)'));
  assert.equal(v2.get('<2.0>'), 'constant.other.version.vnnlib');
  assert.equal(v2.get('declare-input'), 'keyword.control.command.vnnlib');
  assert.equal(v2.get('float32'), 'support.type.vnnlib');
  assert.equal(v2.get('Y'), 'variable.other.tensor.vnnlib');
  assert.equal(v2.get('-'), 'keyword.operator.arithmetic.vnnlib');
});

test('vnnlib language configuration: ; comments, brackets, auto-closing pairs', () => {
  const c = load('vnnlib.language-configuration.json');
  assert.equal(c.comments.lineComment, ';');
  assert.deepEqual(c.brackets, [['(', ')'], ['[', ']']]);
  assert.deepEqual(c.autoClosingPairs.map((p: { open: string }) => p.open), ['(', '[', '"']);
});

test('onnx-text grammar: JSON, scope name, every include resolves, regexes compile', () => {
  const g = load('onnx-text.tmLanguage.json');
  assert.equal(g.scopeName, 'source.onnx-text');
  for (const re of allRegexes(g)) assert.doesNotThrow(() => new RegExp(re), re);
  const includes: string[] = [];
  const walk = (r: Rule) => {
    if (r.include) includes.push(r.include);
    (r.patterns ?? []).forEach(walk);
    Object.values(r.repository ?? {}).forEach(walk);
  };
  walk(g);
  for (const inc of includes) assert.ok(inc === '$self' || g.repository[inc.slice(1)], `unresolved include ${inc}`);
});

test('onnx-text grammar: op names, domains, types, graph name, comments', () => {
  const g = load('onnx-text.tmLanguage.json');
  const node = new RegExp(g.repository.node.match);
  const m = node.exec('   x = com.microsoft.FusedGemm <transB: int = 1> (input, W, B)');
  assert.ok(m);
  assert.equal(m[2], 'com.microsoft.');
  assert.equal(m[3], 'FusedGemm');
  assert.equal(node.exec('   y = Relu (x)')![3], 'Relu');
  const header = new RegExp(g.repository['graph-header'].match);
  assert.equal(header.exec('main_graph (float[1,784] input) => (float[1,10] out) {')![1], 'main_graph');
  assert.equal(header.exec('   x = Gemm (input, W, B)'), null);
  const common = (g.repository.common.patterns as Rule[]).map((r) => (r.include ? (g.repository[r.include.slice(1)] as Rule) : r));
  const scopes = new Map(scopeFlat(common, '(float[N,784] input, int64[?] idx) => (float[1,10] out) # logits'));
  assert.equal(scopes.get('float'), 'storage.type.tensor.onnx-text');
  assert.equal(scopes.get('int64'), 'storage.type.tensor.onnx-text');
  assert.equal(scopes.get('784'), 'constant.numeric.onnx-text');
  assert.equal(scopes.get('=>'), 'keyword.operator.arrow.onnx-text');
  assert.equal(scopes.get('input'), 'variable.other.value.onnx-text');
  assert.equal(scopes.get('# logits'), 'comment.line.number-sign.onnx-text');
  const attr = g.repository['angle-block'].patterns as Rule[];
  const key = attr.find((r) => r.captures?.['1']?.name === 'variable.parameter.attribute.onnx-text')!;
  assert.equal(new RegExp(key.match!).exec('transB: int = 1')![1], 'transB');
  const headerKey = attr.find((r) => r.captures?.['1']?.name === 'keyword.other.header.onnx-text')!;
  assert.equal(new RegExp(headerKey.match!).exec('ir_version: 8')![1], 'ir_version');
});
