"""The import rules of docs/architecture.md hold: import-linter checks the contracts in
pyproject.toml ([tool.importlinter]) against the code as it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_every_import_contract_is_kept(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # import-linter finds the packages from the working directory
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    report = capsys.readouterr().out
    assert status == 0, report
    assert "BROKEN" not in report and "Contracts: 8 kept, 0 broken" in report, report
