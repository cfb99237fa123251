// Text from a model file (names, producer, doc string) is data: it never becomes Markdown, HTML or code in what graftcert shows.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeModel } from '../../server/onnx/encode';
import { analyseModelBytes } from '../../server/onnx/load';
import { codeSpan, modelEntry, modelHover } from '../../server/server/model-features';
import { repoRoot, tempDir, tinyMlpSpec } from '../helpers/onnx-models';

const payload = 'r`<img src=x onerror=alert(1)>[click](https://evil.example/)``<script>alert(2)</script>';

/** The hover's Markdown with every code span removed: what would be rendered as Markdown/HTML. */
function outsideCodeSpans(markdown: string): string {
  return markdown.replace(/(`+)[\s\S]*?\1/g, '');
}

test('codeSpan: a fence longer than any backtick run inside, so the text cannot leave the span', () => {
  assert.equal(codeSpan('relu1'), '`relu1`');
  assert.equal(codeSpan('a`b'), '`` a`b ``');
  assert.equal(codeSpan('a``b`'), '``` a``b` ```');
  assert.equal(outsideCodeSpans(`x ${codeSpan(payload)} y`), 'x  y');
});

test('a node named with Markdown and HTML is shown inside a code span in the hover, producer and doc string never', () => {
  const base = tinyMlpSpec();
  const spec = {
    ...base,
    nodes: base.nodes.map((n, i) => (i === 1 ? { ...n, name: payload } : n)),
    producer: '<script>alert(3)</script>',
    docString: '[doc](command:workbench.action.terminal.new) <iframe src="https://evil.example/">',
  };
  const file = join(tempDir(), 'hostile.onnx');
  const bytes = encodeModel(spec);
  writeFileSync(file, bytes);
  const entry = modelEntry(file, `file://${file}`, analyseModelBytes(bytes, file));
  const node = entry.printed.nodes.find((n) => n.opType === 'Relu')!;
  assert.equal(node.name, payload);
  const hover = modelHover(entry, { line: node.line, character: node.opStart })!;
  const markdown = (hover.contents as { value: string }).value;
  assert.ok(markdown.includes(codeSpan(payload)), markdown);
  const rendered = outsideCodeSpans(markdown);
  assert.doesNotMatch(rendered, /<|\]\(|https?:|command:/, rendered);
});

test('no code path evaluates text: no eval, new Function, vm or dynamic import/require of a computed name in server/, extension/, webview/', () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ts$/.test(name)) {
        const lines = readFileSync(path, 'utf8').split('\n');
        lines.forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, '');
          if (/\beval\s*\(|new\s+Function\s*\(|\bFunction\s*\(\s*['"`]|from 'node:vm'|require\('vm'\)|\bimport\s*\(\s*[^'"`\s]|\brequire\s*\(\s*[^'"`\s)]/.test(code)) offenders.push(`${path}:${i + 1}: ${line.trim()}`);
        });
      }
    }
  };
  for (const dir of ['server', 'extension', 'webview']) walk(join(repoRoot, dir));
  assert.deepEqual(offenders, []);
});
