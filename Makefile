# The two commands of the README: `make demo` and `make test`. Both set up what is missing first.
.PHONY: setup demo test lint typecheck pytest

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/waops demo

test: setup lint typecheck pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy

pytest:
	.venv/bin/pytest
