"""An operator channel that cannot be reached at start is retried; the app does not wait."""

from __future__ import annotations

import pytest

from bot.push.channel import ChannelUnavailable
from bot.push.channel_supervisor import ChannelState, ChannelSupervisor
from bot.slack.adapter import SlackTokenRejected
from engine.retry import Backoff

QUICK = Backoff(initial_s=0.01, max_s=0.02, jitter=0.0)


class Platform:
    """An adapter whose platform answers after `down_for` failed attempts (or never)."""

    def __init__(self, down_for: int, error: Exception | None = None) -> None:
        self.down_for = down_for
        self.error = error or ChannelUnavailable("telegram unreachable: Bad Gateway")
        self.calls: list[str] = []

    async def initialize(self) -> None:
        self.calls.append("initialize")
        if self.down_for > 0:
            self.down_for -= 1
            raise self.error

    async def start(self) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")

    async def shutdown(self) -> None:
        self.calls.append("shutdown")


async def test_a_platform_down_at_start_is_retried_until_it_answers() -> None:
    platform, ups = Platform(down_for=3), []
    supervisor = ChannelSupervisor("telegram", platform, on_up=lambda: ups.append(1), backoff=QUICK)
    await supervisor.start()
    assert supervisor.status.state is ChannelState.RETRYING, "start() returned after one try"
    assert "Bad Gateway" in (supervisor.status.error or "")
    await supervisor.wait_up(5)
    assert supervisor.is_up and ups == [1]
    assert platform.calls == ["initialize"] * 4 + ["start"]
    await supervisor.stop()
    assert platform.calls[-2:] == ["stop", "shutdown"]
    assert supervisor.status.state is ChannelState.STOPPED


async def test_a_refused_token_is_reported_and_not_retried() -> None:
    platform = Platform(down_for=99, error=SlackTokenRejected("slack auth.test: invalid_auth"))
    supervisor = ChannelSupervisor(
        "slack", platform, on_up=lambda: None, fatal=(SlackTokenRejected,), backoff=QUICK
    )
    await supervisor.start()
    assert supervisor.status.state is ChannelState.FAILED
    assert (
        supervisor.status.as_json()["error"] == "SlackTokenRejected: slack auth.test: invalid_auth"
    )
    with pytest.raises(TimeoutError):
        await supervisor.wait_up(0.1)
    assert platform.calls == ["initialize"]
    await supervisor.stop()
    assert platform.calls == ["initialize", "shutdown"]
