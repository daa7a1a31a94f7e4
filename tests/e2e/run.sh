#!/usr/bin/env bash
# Browser / interop end-to-end test of Baton: installs what it needs on a
# fresh Debian machine (Chromium via apt-get, npm packages via npm ci) and
# runs the tests with Node's built-in test runner. Safe to run repeatedly.
#
#   BATON_BIN=/path/to/baton tests/e2e/run.sh      (default: <repo>/target/debug/baton)
#   tests/e2e/run.sh login.test.mjs                (run only the named test files)
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$E2E_DIR/../.." && pwd)"
CHROMIUM=/usr/bin/chromium

die() { echo "tests/e2e/run.sh: error: $*" >&2; exit 1; }

# 1. The server under test must exist before anything is installed.
BATON_BIN="${BATON_BIN:-$REPO_ROOT/target/debug/baton}"
case "$BATON_BIN" in /*) ;; *) BATON_BIN="$PWD/$BATON_BIN" ;; esac
[ -e "$BATON_BIN" ] || die "Baton server binary not found: $BATON_BIN (build it with cargo build, or set BATON_BIN)"
[ -f "$BATON_BIN" ] && [ -x "$BATON_BIN" ] || die "Baton server binary is not an executable file: $BATON_BIN"
export BATON_BIN

command -v node >/dev/null || die "node (>= 20) is required"
command -v npm >/dev/null || die "npm is required"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || die "node >= 20 is required, found $(node --version)"

# 2. Chromium from Debian, only when missing (the Playwright browser download
#    cannot work on a closed network).
if [ ! -x "$CHROMIUM" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "$CHROMIUM is missing and installing it needs root"
    SUDO="sudo"
  fi
  echo "--- installing chromium (apt-get)"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  [ -x "$CHROMIUM" ] || die "apt-get install chromium did not provide $CHROMIUM"
fi

# 3. npm packages exactly as locked.
cd "$E2E_DIR"
echo "--- npm ci"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

# 4. The tests. Node 20's runner takes no globs, so the shell expands them.
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  shopt -s nullglob
  files=(./*.test.mjs)
  [ "${#files[@]}" -gt 0 ] || die "no *.test.mjs files in $E2E_DIR"
fi
mkdir -p artifacts
echo "--- node --test (BATON_BIN=$BATON_BIN)"
exec node --test --test-concurrency=1 --test-timeout=180000 "${files[@]}"
