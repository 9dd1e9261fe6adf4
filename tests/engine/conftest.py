"""Fixtures for engine tests that run real Chromium against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.engine.campaign.env import campaign_env  # noqa: F401  (shared worlds)
from tests.engine.inbound.env import env  # noqa: F401
from tests.support.live_env import live  # noqa: F401
from tests.support.sim_world import World, make_world


@pytest.fixture
async def world(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[World]:
    async for built in make_world(tmp_path, sqlite_template):
        yield built
