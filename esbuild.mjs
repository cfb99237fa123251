// The one build script: bundles the extension, the language server, the CLI (and later each webview) into dist/.
//   node esbuild.mjs            build once
//   node esbuild.mjs --watch    rebuild on change
//   node esbuild.mjs --minify   smaller bundles (packaging)
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const watch = process.argv.includes('--watch');
const minify = process.argv.includes('--minify');

// Optional native/GPU backends are resolved at run time where installed; never bundled.
const optionalNative = [
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'onnxruntime-node',
  'webgpu',
];

/** Node-side bundles (extension host, backend process, command line). */
const nodeEntries = [
  { in: 'extension/main.ts', out: 'extension', external: ['vscode'] },
  { in: 'server/server.ts', out: 'server', external: [] },
  { in: 'server/cli.ts', out: 'cli', external: [] },
  { in: 'server/certify/worker.ts', out: 'certify-worker', external: [] },
  { in: 'server/certify/verify/worker.ts', out: 'verify-worker', external: [] },
  { in: 'server/certify/verify/bab-worker.ts', out: 'bab-worker', external: [] },
  { in: 'server/bounds/worker.ts', out: 'bounds-worker', external: [] },
];

/**
 * Webview bundles (browser, strict CSP: no eval). Add one line per panel, e.g.
 * { in: 'webview/bounds/main.ts', out: 'webview/bounds' }.
 */
const webviewEntries = [
  // The Robustness Report (panel and standalone HTML): dist/webview/report.js + report.css.
  { in: 'webview/report/main.ts', out: 'webview/report' },
];

/**
 * Files copied verbatim next to the bundles. The tfjs wasm backend loads its .wasm binaries from
 * the bundle's folder at run time (tf.wasm.setWasmPaths(__dirname + '/')), so they go to dist/.
 */
const assets = [
  { from: 'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm', to: 'dist/tfjs-backend-wasm.wasm' },
  { from: 'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm', to: 'dist/tfjs-backend-wasm-simd.wasm' },
  { from: 'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm', to: 'dist/tfjs-backend-wasm-threaded-simd.wasm' },
];

function copyAssets() {
  for (const asset of assets) {
    const from = join(root, asset.from);
    if (!existsSync(from)) {
      console.warn(`esbuild.mjs: asset ${asset.from} is missing (run npm install); skipped`);
      continue;
    }
    mkdirSync(dirname(join(root, asset.to)), { recursive: true });
    cpSync(from, join(root, asset.to));
  }
}

/** Logs each (re)build's result; in watch mode errors are reported, not fatal. */
const reportPlugin = (label) => ({
  name: 'report',
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length === 0 && watch) console.log(`[watch] ${label} rebuilt`);
    });
  },
});

const common = {
  absWorkingDir: root,
  bundle: true,
  sourcemap: true,
  minify,
  logLevel: 'warning',
  // Keep class/function names: error reports and instanceof-free checks read them.
  keepNames: true,
};

const contexts = await Promise.all([
  ...nodeEntries.map((entry) =>
    esbuild.context({
      ...common,
      entryPoints: [{ in: entry.in, out: entry.out }],
      outdir: 'dist',
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: [...entry.external, ...optionalNative],
      plugins: [reportPlugin(entry.out)],
    }),
  ),
  ...webviewEntries.map((entry) =>
    esbuild.context({
      ...common,
      entryPoints: [{ in: entry.in, out: entry.out }],
      outdir: 'dist',
      platform: 'browser',
      target: 'es2022',
      format: 'iife',
      // Always minified: server/report/html.ts inlines the script into every HTML report.
      minify: true,
      // Licence comments go to <out>.js.LEGAL.txt: they carry URLs, and the report must reference none.
      legalComments: 'external',
      plugins: [reportPlugin(entry.out)],
    }),
  ),
]);

copyAssets();

if (watch) {
  await Promise.all(contexts.map((ctx) => ctx.watch()));
  console.log('[watch] watching extension/, server/, webview/ — Ctrl+C to stop');
} else {
  try {
    await Promise.all(contexts.map((ctx) => ctx.rebuild()));
  } catch {
    // esbuild has already printed the errors.
    process.exitCode = 1;
  } finally {
    await Promise.all(contexts.map((ctx) => ctx.dispose()));
  }
}
