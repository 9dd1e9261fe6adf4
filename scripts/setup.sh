#!/usr/bin/env bash
# Installs what a fresh machine lacks: Chromium (Debian), WA-JS (npm), the Python packages (.venv).
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing Chromium from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# --include=dev: TypeScript (for `make typecheck-js`) is a devDependency; keep it under NODE_ENV=production.
if [ ! -f node_modules/@wppconnect/wa-js/dist/wppconnect-wa.js ] || [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing WA-JS and TypeScript from npm"
  npm ci --include=dev --no-audit --no-fund --loglevel=error
fi

PYTHON=${PYTHON:-python3}
# The versions CI and every developer get are the ones in requirements-dev.lock (scripts/lock.sh
# makes it from pyproject.toml, with hashes); waops itself goes in editable, without deps.
stamp=.venv/.installed-$(cat pyproject.toml requirements-dev.lock | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "setup: installing the Python packages into .venv"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi
