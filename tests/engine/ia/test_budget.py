"""Reply-token cap and the daily budget in the client's local day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.ia.budget import check_budget, estimate_prompt_tokens, local_day


def test_reply_cap_applies_when_plenty_is_left() -> None:
    check = check_budget(used_today=0, daily_budget=10_000, reply_cap=300, prompt_tokens=500)

    assert check.allowed and check.max_tokens == 300
    assert check.remaining_tokens == 10_000


def test_never_asks_for_more_than_what_is_left() -> None:
    check = check_budget(used_today=9_700, daily_budget=10_000, reply_cap=300, prompt_tokens=100)

    assert check.allowed and check.max_tokens == 200


@pytest.mark.parametrize(("used", "budget"), [(10_000, 10_000), (12_000, 10_000), (0, 0)])
def test_spent_budget_allows_nothing(used: int, budget: int) -> None:
    check = check_budget(used_today=used, daily_budget=budget, reply_cap=300)

    assert not check.allowed and check.max_tokens == 0


def test_too_little_left_for_a_useful_reply() -> None:
    check = check_budget(used_today=9_890, daily_budget=10_000, reply_cap=300, prompt_tokens=100)

    assert not check.allowed
    assert check.remaining_tokens == 110


def test_the_day_is_the_clients_local_day() -> None:
    # 02:00 UTC is still the previous evening in Buenos Aires (UTC-3).
    now = datetime(2025, 3, 2, 2, 0, tzinfo=UTC)

    assert local_day(now, "America/Argentina/Buenos_Aires") == date(2025, 3, 1)
    assert local_day(now, "Europe/Madrid") == date(2025, 3, 2)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day(datetime(2025, 3, 2, 2, 0), "UTC")


def test_prompt_estimate_grows_with_text() -> None:
    assert estimate_prompt_tokens(["a" * 400]) > estimate_prompt_tokens(["a" * 40]) > 0
