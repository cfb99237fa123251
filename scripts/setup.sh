#!/usr/bin/env bash
# Sets up a checkout: installs the npm dependencies and builds dist/. Idempotent and non-interactive.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# onnxruntime-node (a dev-only reference runtime) would download native binaries in its postinstall.
export ONNXRUNTIME_NODE_INSTALL=skip
# Never stop to ask (npm 11 prompts about install scripts; some npmrc files set yes=false).
export npm_config_yes=true
export npm_config_fund=false
export npm_config_audit=false

if [ -f package-lock.json ]; then
  install=(npm ci)
else
  install=(npm install)
fi

# npm keeps node_modules/.package-lock.json in step with what it installed: when that is at least as
# new as package-lock.json, the install is current and is not redone (npm ci would delete
# node_modules under anything running from this checkout). GRAFTCERT_FORCE_INSTALL=1 redoes it.
if [ "${GRAFTCERT_FORCE_INSTALL:-0}" != 1 ] && [ -f node_modules/.package-lock.json ] && [ -f package-lock.json ] \
  && ! [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: node_modules is up to date with package-lock.json (GRAFTCERT_FORCE_INSTALL=1 to reinstall)"
else
  # @tensorflow/tfjs-node is an optionalDependency: when it cannot be installed npm skips it and
  # graftcert falls back to the wasm/cpu backends. npm 11 leaves unapproved install scripts unrun;
  # nothing here needs them. Nothing else may fail.
  echo "setup: ${install[*]} (ONNXRUNTIME_NODE_INSTALL=skip)"
  "${install[@]}"
fi

# esbuild's postinstall only optimises its launcher; verify the platform binary is usable anyway.
node -e "require('esbuild').transformSync('let x: number = 1', { loader: 'ts' })" \
  || { echo "setup: esbuild is not usable — remove node_modules and run this script again" >&2; exit 1; }

# A software WebGPU adapter (Mesa llvmpipe) for test/unit/webgpu.test.ts; a failure here only fails that test.
bash scripts/setup-webgpu.sh || echo "setup: no software WebGPU adapter (see above) — test/unit/webgpu.test.ts will fail; the rest works" >&2

echo "setup: npm run build"
npm run build --silent
echo "setup: done — try: node bin/graftcert.js inspect <model.onnx>"
