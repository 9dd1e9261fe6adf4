"""The fake WA-JS bundle as one script: the parts under ``static/wpp-fake/`` joined in name order.

The parts are the body of one function, split in files to keep each small. ``WAOPS_WA_JS_PATH``
names a single file (settings checks ``is_file()``) that the driver injects by path, so the
joined text is written once to a file named by its content hash, in a per-user temporary folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)

PARTS_DIR = Path(__file__).with_name("static") / "wpp-fake"


@cache
def fake_bundle_text() -> str:
    """The parts joined, a blank line between them (``GET /static/wpp-fake.js`` serves it)."""
    parts = sorted(PARTS_DIR.glob("*.js"))
    if not parts:
        raise FileNotFoundError(f"no wpp-fake parts in {PARTS_DIR}")
    return "\n".join(part.read_text(encoding="utf-8") for part in parts)


def fake_bundle_path() -> Path:
    """The file holding ``fake_bundle_text()``, written (atomically) unless it is there already."""
    text = fake_bundle_text()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"waops-simulator-{os.getuid()}"
    path = folder / f"wpp-fake-{digest}.js"
    if not path.is_file():
        folder.mkdir(mode=0o700, exist_ok=True)
        partial = folder / f".{path.name}.{os.getpid()}"
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
        logger.debug("fake WA-JS bundle written to %s", path)
    return path
