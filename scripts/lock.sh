#!/usr/bin/env bash
# Regenerates the Python lock files from pyproject.toml, against PyPI, with hashes:
#   requirements.lock      what `waops` needs (deploy/Containerfile installs it)
#   requirements-dev.lock  that and the dev tools (scripts/setup.sh, so CI, installs it)
# Needs uv (`pip install uv`). Run it after changing dependencies in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}
common=(--universal --python-version 3.11 --generate-hashes --index-url https://pypi.org/simple
        --custom-compile-command "scripts/lock.sh")
"$UV" pip compile pyproject.toml "${common[@]}" -o requirements.lock
"$UV" pip compile pyproject.toml --extra dev "${common[@]}" -o requirements-dev.lock
