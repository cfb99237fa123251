// The standalone HTML report in headless Chromium: no console errors (CSP violations included), the right sections, charts drawn.
//
// Screenshots land in .test-artifacts/report/ for a person to look at. Needs Chromium
// (/usr/bin/chromium or GRAFTCERT_CHROMIUM, installed by scripts/setup-e2e.sh, which `npm run test:all` runs
// first); without it every test here fails saying so — a missing install step must not pass as a skip.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';
import { renderReportHtml } from '../../server/report/html';
import { type RobustnessReport, emptyReport } from '../../server/report/model';
import { boundsOnlyReport, certifyOnlyReport, fullReport } from './report-fixtures';

const chromiumPath = process.env.GRAFTCERT_CHROMIUM ?? '/usr/bin/chromium';
const missingChromium = existsSync(chromiumPath)
  ? undefined
  : `Chromium is not installed at ${chromiumPath}: run \`bash scripts/setup-e2e.sh\` (npm run test:all does it first) or set GRAFTCERT_CHROMIUM`;
const artifacts = join(__dirname, '..', '..', '.test-artifacts', 'report');
const scratch = mkdtempSync(join(tmpdir(), 'graftcert-report-render-'));
let browser: Browser | undefined;

before(async () => {
  if (missingChromium) return;
  mkdirSync(artifacts, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu'], timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface Rendered {
  page: Page;
  /** Console errors and warnings, page errors and failed requests: all must be empty. */
  problems: string[];
  sections: string[];
}

/** Opens the report's HTML file (file://, offline) and waits until the script has rendered it. */
async function open(name: string, report: RobustnessReport, colorScheme: 'light' | 'dark' = 'light'): Promise<Rendered> {
  const file = join(scratch, `${name}.html`);
  writeFileSync(file, renderReportHtml(report));
  // Fails (never skips) without Chromium, naming the install step.
  assert.ok(browser, missingChromium ?? 'Chromium did not start');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (!request.url().startsWith('file:') && !request.url().startsWith('data:')) problems.push(`request: ${request.url()}`);
  });
  await page.goto(pathToFileURL(file).href);
  await page.locator('body[data-rendered="true"]').waitFor({ timeout: 20_000 });
  const sections = await page.locator('[data-section]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-section')!));
  return { page, problems, sections };
}

/** Per canvas: its data-chart/data-image name and whether anything is drawn on it. */
async function canvases(page: Page): Promise<{ name: string; width: number; height: number; drawn: boolean }[]> {
  return page.locator('canvas').evaluateAll((nodes) =>
    (nodes as HTMLCanvasElement[]).map((canvas) => {
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let drawn = false;
      for (let i = 3; i < pixels.length && !drawn; i += 4) drawn = pixels[i] !== 0;
      return { name: canvas.dataset.chart ?? canvas.dataset.image ?? '?', width: canvas.width, height: canvas.height, drawn };
    }),
  );
}

test('the full report renders every section and chart without a console error or CSP violation', async () => {
  const { page, problems, sections } = await open('full', fullReport());
  try {
    assert.deepEqual(sections, ['summary', 'layers', 'eps-curve', 'ratio-sweep', 'counterexamples', 'timings', 'notes']);
    const drawn = await canvases(page);
    assert.deepEqual(
      drawn.map((c) => c.name),
      ['layers', 'eps-curve', 'ratio-sweep', 'ratio-unstable', 'original', 'adversarial', 'perturbation', 'original', 'adversarial', 'perturbation', 'counterexample-values'],
    );
    for (const canvas of drawn) assert.ok(canvas.drawn && canvas.width > 0 && canvas.height > 0, `canvas ${canvas.name} is blank`);
    // The images have the input's own resolution (scaled up by CSS).
    assert.deepEqual(drawn.filter((c) => c.name === 'original').map((c) => [c.width, c.height]), [[28, 28], [32, 32]]);
    assert.equal(await page.locator('h1').textContent(), 'Robustness report — mnist-fc3x100.onnx');
    const summary = await page.locator('table.summary tr').allTextContents();
    assert.ok(summary.includes('certified accuracy (lower bound)21.3 %60.4 %'), summary.join('\n'));
    assert.ok(summary.includes('unstable neurons, α-CROWN13926'), summary.join('\n'));
    // No Export button without a VS Code host.
    assert.equal(await page.locator('button.export').count(), 0);
    await page.screenshot({ path: join(artifacts, 'full.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('the standalone report follows a dark colour scheme', async () => {
  const { page, problems } = await open('full-dark', fullReport(), 'dark');
  try {
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, 'rgb(30, 30, 30)');
    await page.screenshot({ path: join(artifacts, 'full-dark.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a certify-only report shows its summary, layers and timings and omits the rest', async () => {
  const { page, problems, sections } = await open('certify-only', certifyOnlyReport());
  try {
    assert.deepEqual(sections, ['summary', 'layers', 'timings']);
    assert.deepEqual((await canvases(page)).map((c) => [c.name, c.drawn]), [['layers', true]]);
    // One model: the summary has one column, no "grafted" one.
    assert.deepEqual(await page.locator('table.summary thead th').allTextContents(), ['', 'original']);
    await page.screenshot({ path: join(artifacts, 'certify-only.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a bounds-only report shows the unstable counts of each method', async () => {
  const { page, problems, sections } = await open('bounds-only', boundsOnlyReport());
  try {
    assert.deepEqual(sections, ['summary', 'layers']);
    assert.match((await page.locator('.facts').textContent()) ?? '', /ε = 2\/255/);
    assert.deepEqual(await page.locator('table.layers thead th').allTextContents(), ['layer', 'size', 'IBP', 'CROWN', 'α-CROWN']);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('an empty report says it has no results', async () => {
  const { page, problems, sections } = await open('empty', emptyReport('m.onnx'));
  try {
    assert.deepEqual(sections, ['empty']);
    assert.equal(await page.locator('canvas').count(), 0);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
