#!/bin/sh
# Installs node `oidc-provider` for crates/client/tests/oidc_provider.rs into this
# directory, once. Exit status 2: npm is not available.
set -e
cd "$(dirname "$0")"
command -v node >/dev/null 2>&1 || { echo "node not found" >&2; exit 2; }
command -v npm >/dev/null 2>&1 || { echo "npm not found" >&2; exit 2; }
if [ -f node_modules/oidc-provider/package.json ]; then
  exit 0
fi
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
