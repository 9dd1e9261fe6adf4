"""Where each number's browser profile lives under the data folder."""

from __future__ import annotations

from pathlib import Path


def profile_dir(data_dir: Path, client_slug: str, session_name: str) -> Path:
    """Where a session's Chromium profile (its WhatsApp pairing) lives."""
    return data_dir / "sessions" / client_slug / session_name
