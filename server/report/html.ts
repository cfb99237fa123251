// The self-contained HTML Robustness Report: the webview bundle and its CSS inlined, the data as JSON, a strict CSP.
//
// The page opens offline in any browser: it references nothing outside itself. The CSP allows
// exactly the inlined script and style (by SHA-256 hash) and nothing else; the JSON block is data
// (`type="application/json"`), which the browser never runs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { RobustnessReport } from './model';

/** The id of the JSON data block (webview/report/main.ts reads it). */
export const reportDataId = 'graftcert-report';

export interface ViewerBundle {
  script: string;
  css: string;
  /** Licence notices of the bundled libraries (URLs removed), for an HTML comment. */
  legal: string;
}

/** Thrown when dist/webview/report.js is not there: the one-sentence fix is to build. */
export class ReportBundleMissingError extends Error {
  constructor(readonly searched: readonly string[]) {
    super(`The report viewer bundle (webview/report.js) was not found in ${searched.join(' or ')}; run \`npm run build\` first.`);
    this.name = 'ReportBundleMissingError';
  }
}

/**
 * Folders that may hold the built viewer, nearest first: next to this bundle (dist/ → dist/webview),
 * then dist/webview of every package.json folder upwards (tsx runs this file from server/report/).
 * GRAFTCERT_WEBVIEW_DIR overrides them all.
 */
export function viewerBundleDirs(from: string = __dirname): string[] {
  if (process.env.GRAFTCERT_WEBVIEW_DIR) return [resolve(process.env.GRAFTCERT_WEBVIEW_DIR)];
  const dirs = [join(from, 'webview')];
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) dirs.push(join(dir, 'dist', 'webview'));
    if (dirname(dir) === dir) break;
  }
  return [...new Set(dirs)];
}

let cached: { dir: string; bundle: ViewerBundle } | undefined;

/** Reads the built viewer (script, CSS, licences); throws ReportBundleMissingError when it is not built. */
export function loadViewerBundle(dirs: readonly string[] = viewerBundleDirs()): ViewerBundle {
  const dir = dirs.find((candidate) => existsSync(join(candidate, 'report.js')));
  if (!dir) throw new ReportBundleMissingError(dirs);
  if (cached?.dir === dir) return cached.bundle;
  const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
  const bundle: ViewerBundle = {
    // The source map stays behind: a reference to it would be a reference outside the file.
    script: read('report.js').replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n'),
    css: read('report.css').replace(/\/\*# sourceMappingURL=\S*\s*\*\/\s*$/, ''),
    legal: read('report.js.LEGAL.txt')
      .split('\n')
      .filter((line) => !/https?:\/\//.test(line))
      .join('\n')
      .trim(),
  };
  cached = { dir, bundle };
  return bundle;
}

/** JSON that is safe inside a <script> element: no `</script>`, no `<!--`, no line separators. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The one HTML file of a report: opens offline in any browser, the same page the VS Code panel shows. */
export function renderReportHtml(report: RobustnessReport, bundle: ViewerBundle = loadViewerBundle()): string {
  // A `</script` or `</style` inside the code would end the element early; `<\/` means the same in JS and CSS strings.
  const script = bundle.script.replace(/<\/(script)/gi, '<\\/$1');
  const css = bundle.css.replace(/<\/(style)/gi, '<\\/$1');
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(css)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const legal = bundle.legal ? `<!--\nThis file includes:\n${bundle.legal.replace(/--/g, '- -')}\n-->\n` : '';
  return (
    '<!DOCTYPE html>\n' +
    '<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">\n` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    '<meta name="generator" content="graftcert">\n' +
    `<title>Robustness report — ${escapeHtml(report.model)}</title>\n` +
    `<style>${css}</style>\n` +
    '</head>\n<body>\n<div id="app"></div>\n' +
    `<script type="application/json" id="${reportDataId}">${scriptSafeJson(report)}</script>\n` +
    `<script>${script}</script>\n` +
    legal +
    '</body>\n</html>\n'
  );
}

/**
 * Writes `<base>.html` and `<base>.json` (a trailing .html or .json on `path` is dropped first);
 * returns both paths.
 */
export function writeReport(report: RobustnessReport, path: string): { html: string; json: string } {
  const base = path.replace(/\.(html|json)$/i, '');
  const html = `${base}.html`;
  const json = `${base}.json`;
  const page = renderReportHtml(report);
  mkdirSync(dirname(resolve(html)), { recursive: true });
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(html, page);
  return { html, json };
}
