// Runs the tests in a real VS Code (code-server + Chromium): extension-host tests, then UI tests; prints "N passed, N failed".
//
//   node --import tsx test/integration/run-e2e.ts [exthost] [ui]     (no argument: both)
//   GRAFTCERT_E2E_GREP=<pattern>   only tests whose full title matches
//   GRAFTCERT_E2E_VSIX=<file>      UI tests install this .vsix instead of packaging dist/ afresh
//
// Needs `bash scripts/setup-e2e.sh` and a built dist/ (`npm run test:e2e` does both first).
// Adding a test: drop `<name>.test.ts` into test/integration/suite/ (runs inside the extension host,
// `vscode` API) or `<name>.ui.ts` into test/integration/ui/ (drives the workbench through Playwright).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';
import * as esbuild from 'esbuild';
import Mocha from 'mocha';
import { encodeModel } from '../../server/onnx/encode';
import { tinyMlpSpec } from '../helpers/onnx-models';
import { artifactsDir, assertToolsInstalled, codeWebWrapper, e2eOut, repoRoot } from './harness/paths';
import { packageVsix } from './harness/vsix';
import type { SuiteResults } from './suite/index';

const suiteDir = join(repoRoot, 'test', 'integration', 'suite');
const uiDir = join(repoRoot, 'test', 'integration', 'ui');

interface PartResult {
  name: string;
  passed: number;
  failed: number;
  pending: number;
}

/** Bundles suite/index.ts and each suite/*.test.ts on its own into out/e2e/suite/ (the extension host loads plain JS). */
async function bundleExtensionHostSuite(): Promise<string> {
  const outdir = join(e2eOut, 'suite');
  rmSync(outdir, { recursive: true, force: true });
  const tests = readdirSync(suiteDir).filter((f) => f.endsWith('.test.ts'));
  await esbuild.build({
    absWorkingDir: repoRoot,
    entryPoints: ['index.ts', ...tests].map((f) => join(suiteDir, f)),
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    logLevel: 'warning',
    // mocha is loaded from node_modules; vscode is the extension host's API module.
    external: ['vscode', 'mocha'],
  });
  return join(outdir, 'index.js');
}

async function runExtensionHostTests(): Promise<PartResult> {
  const testsEntry = await bundleExtensionHostSuite();
  const scratch = mkdtempSync(join(tmpdir(), 'graftcert-exthost-'));
  const workspace = join(scratch, 'workspace');
  mkdirSync(workspace);
  // An .onnx in the folder triggers activation through workspaceContains, as for a user.
  writeFileSync(join(workspace, 'tiny-mlp.onnx'), encodeModel(tinyMlpSpec()));
  const resultsFile = join(artifactsDir, 'exthost-results.json');
  rmSync(resultsFile, { force: true });
  let exitError: unknown;
  // runTests spawns the wrapper directly; a checkout that lost the file's mode must not fail on that.
  chmodSync(codeWebWrapper, 0o755);
  try {
    await runTests({
      vscodeExecutablePath: codeWebWrapper,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: testsEntry,
      launchArgs: [workspace, `--user-data-dir=${join(scratch, 'user-data')}`, `--extensions-dir=${join(scratch, 'extensions')}`],
      extensionTestsEnv: { GRAFTCERT_E2E_RESULTS: resultsFile },
    });
  } catch (error) {
    exitError = error;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!existsSync(resultsFile)) {
    console.error(`e2e: the extension-host run reported no results (${exitError instanceof Error ? exitError.message : 'no error'}); see ${join(artifactsDir, 'code-server-exthost.log')}`);
    return { name: 'extension host', passed: 0, failed: 1, pending: 0 };
  }
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as SuiteResults;
  for (const failure of results.failures) console.error(`\nFAILED (extension host): ${failure.title}\n${failure.error}`);
  // A failing exit with no failing test (e.g. a crash after the run) still counts as a failure.
  const failed = results.failed > 0 || exitError === undefined ? results.failed : 1;
  return { name: 'extension host', passed: results.passed, failed, pending: results.pending };
}

async function runUiTests(): Promise<PartResult> {
  if (!process.env.GRAFTCERT_E2E_VSIX) {
    const started = Date.now();
    process.env.GRAFTCERT_E2E_VSIX = packageVsix();
    console.log(`e2e: packaged ${process.env.GRAFTCERT_E2E_VSIX} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const files = readdirSync(uiDir).filter((f) => f.endsWith('.ui.ts')).sort();
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 120_000, reporter: 'spec' });
  const grep = process.env.GRAFTCERT_E2E_GREP;
  if (grep) mocha.grep(grep);
  for (const file of files) mocha.addFile(join(uiDir, file));
  // Loaded through the same require cache as this file, so every test shares one workbench.
  const { closeWorkbench } = require('./ui/workbench') as typeof import('./ui/workbench');
  try {
    const stats = await new Promise<Mocha.Stats | undefined>((resolve) => {
      const runner = mocha.run(() => resolve(runner.stats));
    });
    return { name: 'UI', passed: stats?.passes ?? 0, failed: stats?.failures ?? 1, pending: stats?.pending ?? 0 };
  } finally {
    await closeWorkbench();
  }
}

async function main(): Promise<number> {
  assertToolsInstalled();
  mkdirSync(artifactsDir, { recursive: true });
  const wanted = process.argv.slice(2);
  const parts: PartResult[] = [];
  const started = Date.now();
  if (wanted.length === 0 || wanted.includes('exthost')) {
    console.log('e2e: extension-host tests (code-server + Chromium, mocha in the extension host)');
    parts.push(await runExtensionHostTests());
  }
  if (wanted.length === 0 || wanted.includes('ui')) {
    console.log('\ne2e: UI tests (packaged .vsix in code-server, driven through Chromium)');
    parts.push(await runUiTests());
  }
  const passed = parts.reduce((n, p) => n + p.passed, 0);
  const failed = parts.reduce((n, p) => n + p.failed, 0);
  console.log('');
  for (const p of parts) console.log(`e2e: ${p.name}: ${p.passed} passed, ${p.failed} failed${p.pending ? `, ${p.pending} skipped` : ''}`);
  console.log(`e2e: ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots and logs in ${artifactsDir}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || parts.length === 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`e2e: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
