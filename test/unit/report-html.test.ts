// The standalone HTML report: self-contained (no remote references, no eval), a strict CSP, the data embedded intact.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ReportBundleMissingError,
  loadViewerBundle,
  renderReportHtml,
  reportDataId,
  viewerBundleDirs,
  writeReport,
} from '../../server/report/html';
import { emptyReport, parseReport } from '../../server/report/model';
import { certifyOnlyReport, fullReport } from './report-fixtures';

/** The text of every <script> element without a type: the code the page runs. */
function inlineScripts(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}

function embeddedJson(html: string): unknown {
  const match = new RegExp(`<script type="application/json" id="${reportDataId}">([\\s\\S]*?)</script>`).exec(html);
  assert.ok(match, 'no JSON data block');
  return JSON.parse(match[1]);
}

function cspOf(html: string): string {
  const match = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
  assert.ok(match, 'no CSP meta tag');
  return match[1];
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

test('the built viewer bundle exists and uses no eval or new Function', () => {
  const bundle = loadViewerBundle();
  assert.ok(bundle.script.length > 50_000, `report.js is only ${bundle.script.length} characters`);
  assert.ok(bundle.css.includes('--gc-fg'), 'report.css lacks the theme variables');
  assertAbsent(bundle.script, /\beval\s*\(/, 'eval');
  assertAbsent(bundle.script, /\bnew\s+Function\b/, 'new Function');
  assertAbsent(bundle.script, /[^\w.]Function\s*\(/, 'Function()');
  // setTimeout("code") is eval too.
  assertAbsent(bundle.script, /set(Timeout|Interval)\s*\(\s*["'`]/, 'a string timer');
});

/** Fails with a short excerpt around the match (never the whole page). */
function assertAbsent(text: string, pattern: RegExp, what: string): void {
  const match = pattern.exec(text);
  if (match) assert.fail(`${what}: …${text.slice(Math.max(0, match.index - 60), match.index + 60)}…`);
}

test('the HTML references nothing outside itself', () => {
  const html = renderReportHtml(fullReport());
  assertAbsent(html, /https?:\/\//i, 'an http(s) URL');
  assertAbsent(html, /<script[^>]+src=/i, 'an external script');
  assertAbsent(html, /<(link|iframe|img|object|embed)\b/i, 'an element that loads a resource');
  assertAbsent(html, /sourceMappingURL/, 'a source map reference');
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
  assertAbsent(style, /url\(|@import/i, 'a CSS resource');
  assert.equal(inlineScripts(html).length, 1);
});

test('the CSP allows exactly the inlined script and style, by hash, and nothing remote', () => {
  const html = renderReportHtml(fullReport());
  const csp = cspOf(html);
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  const [script] = inlineScripts(html);
  assert.deepEqual(directives.get('script-src'), [sha256(script)]);
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
  assert.deepEqual(directives.get('style-src'), [sha256(style)]);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  // The CSP must come before anything it governs.
  assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<style>'));
});

test('the embedded JSON round-trips, also with markup in the data', () => {
  const report = { ...fullReport(), model: 'evil</script><script>alert(1)</script>.onnx', notes: ['a <!-- b --> & c \u2028 d'] };
  const html = renderReportHtml(report);
  assert.deepEqual(embeddedJson(html), report);
  assert.deepEqual(parseReport(embeddedJson(html)), report);
  assert.equal(inlineScripts(html).length, 1, 'the model name opened a script element');
  assert.match(html, /<title>Robustness report — evil&lt;\/script&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;\.onnx<\/title>/);
});

test('a script containing </script is escaped so the element does not end early', () => {
  const html = renderReportHtml(emptyReport('m'), { script: 'var s = "</script><b>";', css: 'a{}', legal: '' });
  assert.equal(inlineScripts(html)[0], 'var s = "<\\/script><b>";');
  assert.match(cspOf(html), new RegExp(sha256('var s = "<\\/script><b>";').replace(/[+/]/g, '\\$&')));
});

test('writeReport writes <path>.html and <path>.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'graftcert-report-'));
  try {
    const written = writeReport(certifyOnlyReport(), join(dir, 'sub', 'fc.report.html'));
    assert.deepEqual(written, { html: join(dir, 'sub', 'fc.report.html'), json: join(dir, 'sub', 'fc.report.json') });
    assert.deepEqual(parseReport(JSON.parse(readFileSync(written.json, 'utf8'))), certifyOnlyReport());
    assert.deepEqual(embeddedJson(readFileSync(written.html, 'utf8')), certifyOnlyReport());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing build is one sentence that says to build', () => {
  assert.throws(
    () => loadViewerBundle(['/nonexistent/dist/webview']),
    (error: unknown) => error instanceof ReportBundleMissingError && /\/nonexistent\/dist\/webview; run `npm run build` first\.$/.test(error.message),
  );
  // From the bundle's folder (dist/) and from the sources (server/report/ via tsx) alike.
  const root = join(__dirname, '..', '..');
  assert.equal(viewerBundleDirs(join(root, 'dist'))[0], join(root, 'dist', 'webview'));
  assert.ok(viewerBundleDirs(join(root, 'server', 'report')).includes(join(root, 'dist', 'webview')));
});
