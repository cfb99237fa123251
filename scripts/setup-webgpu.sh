#!/usr/bin/env bash
# Installs what a software WebGPU adapter needs on a machine without a GPU (Mesa llvmpipe through EGL, no display),
# then checks that Dawn (the npm `webgpu` package) finds the adapter. Idempotent and non-interactive.
# test/unit/webgpu.test.ts runs the webgpu backend on this adapter; see README "Compute backends".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive
say() { echo "setup-webgpu: $*"; }

# Dawn rejects bookworm's Mesa 22 lavapipe (Vulkan) but takes its llvmpipe through EGL + desktop OpenGL (or GLES)
# at WebGPU's 'compatibility' feature level: libEGL, Mesa's EGL vendor library, GLES, and the DRI drivers.
apt_packages=(libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    say "no apt-get here: install Mesa's EGL and OpenGL (llvmpipe) libraries yourself (${apt_packages[*]} on Debian)" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { say "installing ${missing[*]} needs root (or sudo) — run this script as root" >&2; exit 1; }
    sudo=(sudo -n)
  fi
  say "apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present (${apt_packages[*]})"
fi

# The adapter itself, as the backend asks for it (server/tensor/webgpu.ts, adapter kind 'software').
[ -d node_modules/webgpu ] || { say "node_modules/webgpu is missing — run npm ci (scripts/setup.sh) first" >&2; exit 1; }
EGL_PLATFORM=surfaceless node --input-type=module -e "
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  for (const backend of ['opengl', 'opengles']) {
    const adapter = await create(['backend=' + backend]).requestAdapter({ featureLevel: 'compatibility' });
    if (adapter) { console.log('setup-webgpu: software adapter: ' + [adapter.info.device, adapter.info.description].filter(Boolean).join(' ') + ' (Dawn ' + backend + ')'); process.exit(0); }
  }
  console.error('setup-webgpu: Dawn found no software adapter (OpenGL or GLES through EGL) — check that Mesa llvmpipe works: EGL_PLATFORM=surfaceless eglinfo');
  process.exit(1);
" 2> >(grep -v -e 'artificially reduced' -e "Couldn't load Vulkan" -e 'BackendVk.cpp' -e '^$' >&2)
