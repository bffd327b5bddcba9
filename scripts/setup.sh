#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need, skipping what is already there:
# Debian packages, npm packages, the Python environment, and the VS Code host (code-server + Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "npm: installing packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
bash scripts/python-env.sh
bash scripts/host/install.sh
