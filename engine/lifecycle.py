"""Two-phase lifecycle shared by long-lived parts (STYLE.md 4).

`TwoPhase` is defined in storage/lifecycle.py, the lowest layer, so that `Database` uses the
same base; the engine and the bot take it from here.
"""

from __future__ import annotations

from storage.lifecycle import TwoPhase

__all__ = ["TwoPhase"]
