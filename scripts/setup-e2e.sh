#!/usr/bin/env bash
# Installs what the real-VS-Code tests need: Chromium and build tools (Debian), code-server 4.100.3 in .tools/.
# Idempotent and non-interactive; every step is skipped when already done. See ../shared/design/E2E.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

# code-server 4.100.3 (VS Code 1.100.3) is the newest release that runs on Node 20.
code_server_version=4.100.3
tools=$root/.tools/code-server
export DEBIAN_FRONTEND=noninteractive

started=$SECONDS
say() { echo "setup-e2e: $*"; }

# --- Debian packages ---------------------------------------------------------------------------
# chromium drives the workbench; build-essential, python3, pkg-config and libkrb5-dev build
# code-server's native modules (node-pty, kerberos); ripgrep seeds @vscode/ripgrep's download.
apt_packages=(chromium build-essential python3 pkg-config libkrb5-dev ripgrep)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
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
[ -x /usr/bin/chromium ] || { say "/usr/bin/chromium is missing after apt-get — install the Debian chromium package" >&2; exit 1; }

# --- code-server -------------------------------------------------------------------------------
installed_version() {
  node -e "process.stdout.write(require(process.argv[1]).version)" \
    "$tools/node_modules/code-server/package.json" 2>/dev/null || true
}
code_server_ready() {
  [ "$(installed_version)" = "$code_server_version" ] \
    && [ -x "$tools/node_modules/.bin/code-server" ] \
    && [ -f "$tools/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ] \
    && [ -f "$tools/.installed-$code_server_version" ]
}

if code_server_ready; then
  say "code-server $code_server_version present in .tools/code-server"
else
  say "npm install code-server@$code_server_version into .tools/code-server (a few minutes)"
  mkdir -p "$tools"
  rm -f "$tools"/.installed-*
  # A prefix of its own: code-server's tree is not one of the project's dependencies.
  [ -f "$tools/package.json" ] || echo '{ "private": true, "description": "graftcert e2e tools (scripts/setup-e2e.sh)" }' >"$tools/package.json"

  # @vscode/ripgrep downloads rg from GitHub in its postinstall; put Debian's rg into its download
  # cache instead (the archive name it looks for, with rg at the archive's root).
  tmp=${TMPDIR:-/tmp}
  rg_cache=$tmp/vscode-ripgrep-cache-1.15.11
  rg_archive=$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
  if [ ! -f "$rg_archive" ]; then
    mkdir -p "$rg_cache"
    rg_stage=$(mktemp -d)
    cp "$(command -v rg)" "$rg_stage/rg"
    tar -czf "$rg_archive" -C "$rg_stage" rg
    rm -rf "$rg_stage"
  fi

  # As root npm refuses install scripts without unsafe-perm; yes=true so node-pty's `npx node-gyp`
  # does not give up on a prompt; node-gyp finds the Node headers in /usr/include/node (Debian's
  # nodejs-dev or NodeSource's package) instead of downloading them.
  export npm_config_unsafe_perm=true npm_config_yes=true npm_config_fund=false npm_config_audit=false
  export npm_config_update_notifier=false
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_version.h ]; then
    header_version=$(sed -n 's/^#define NODE_\(MAJOR\|MINOR\|PATCH\)_VERSION \([0-9]*\).*/\2/p' /usr/include/node/node_version.h | paste -sd.)
    [ "v$header_version" = "$(node -v)" ] && export npm_config_nodedir=/usr
  fi
  npm install --prefix "$tools" --no-save --no-package-lock --foreground-scripts --loglevel=error \
    "code-server@$code_server_version" >"$tools/install.log" 2>&1 \
    || { tail -n 40 "$tools/install.log" >&2; say "npm install code-server failed; the full log is .tools/code-server/install.log" >&2; exit 1; }

  # Should the cache seeding ever miss (another @vscode/ripgrep version), use Debian's rg directly.
  rg_bin=$tools/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg
  if [ ! -f "$rg_bin" ]; then
    mkdir -p "$(dirname "$rg_bin")"
    cp "$(command -v rg)" "$rg_bin"
  fi
  touch "$tools/.installed-$code_server_version"
  code_server_ready || { say "code-server $code_server_version did not install completely; see .tools/code-server/install.log" >&2; exit 1; }
fi

say "done in $((SECONDS - started)) s (code-server $(installed_version) in .tools/code-server)"
