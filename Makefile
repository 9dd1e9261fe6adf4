# The two commands of the README: `make demo` and `make test`. Both set up what is missing first.
.PHONY: setup demo test lint typecheck typecheck-js pytest

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/waops demo

test: setup lint typecheck typecheck-js pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy

# The page bridge against the .d.ts files of the pinned WA-JS (a wrong call or option fails).
typecheck-js:
	node_modules/.bin/tsc -p engine/whatsapp/tsconfig.json

pytest:
	.venv/bin/pytest -n 2
