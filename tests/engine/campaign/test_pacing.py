from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.campaign.pacing import (
    HoldReason,
    NumberPacer,
    PacingPolicy,
    Slot,
    estimate_finish,
    merged,
    recipient_timezone,
)
from engine.errors import InvalidInput
from engine.settings import SecondsRange, SendWindow, load_settings

T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)  # 11:00 in Buenos Aires, 15:00 in Madrid
BA = "America/Buenos_Aires"
MADRID = "Europe/Madrid"
AR_MOBILE = "5491112345678"
ES_MOBILE = "34612345678"
OPEN = PacingPolicy.unpaced().overrides(gap_s="20-60")
MATURE = 365


def run(
    pacer: NumberPacer, policy: PacingPolicy, count: int, *, tz: str = "UTC", age: int = MATURE
) -> list[datetime]:
    """Send `count` messages as soon as the pacer allows, starting at T0; return send times."""
    now, sent = T0, []
    for _ in range(count):
        now = pacer.next_slot(now, recipient_tz=tz, policy=policy, number_age_days=age)
        pacer.record_send(now)
        sent.append(now)
    return sent


def plan(
    pacer: NumberPacer,
    now: datetime,
    policy: PacingPolicy = OPEN,
    *,
    tz: str = "UTC",
    age: int = MATURE,
) -> Slot:
    return pacer.plan(now, recipient_tz=tz, policy=policy, number_age_days=age)


def gaps_s(sent: list[datetime]) -> list[float]:
    return [(later - earlier).total_seconds() for earlier, later in pairwise(sent)]


def test_gaps_fall_inside_the_range_and_spread_over_it() -> None:
    gaps = gaps_s(run(NumberPacer(rng=random.Random(1)), OPEN, 500))
    assert all(20 <= gap <= 60 for gap in gaps)
    assert min(gaps) < 22 and max(gaps) > 58


def test_first_send_goes_now_and_slot_is_stable_until_a_send() -> None:
    pacer = NumberPacer(rng=random.Random(2))
    assert pacer.next_slot(T0, recipient_tz="UTC", policy=OPEN, number_age_days=0) == T0
    pacer.record_send(T0)
    first = plan(pacer, T0)
    assert first.held_by is HoldReason.GAP
    assert plan(pacer, T0 + timedelta(seconds=5)) == first
    pacer.record_send(first.at)
    assert plan(pacer, first.at) != first


def test_same_seed_same_schedule() -> None:
    assert run(NumberPacer(rng=random.Random(7)), OPEN, 30) == run(
        NumberPacer(rng=random.Random(7)), OPEN, 30
    )


def test_long_pause_after_every_n_sends() -> None:
    policy = OPEN.overrides(long_pause_every=5, long_pause_s="300-900")
    gaps = gaps_s(run(NumberPacer(rng=random.Random(3)), policy, 21))
    long_at = [index for index, gap in enumerate(gaps) if gap >= 300]
    assert long_at == [4, 9, 14, 19]
    assert all(300 <= gaps[index] <= 900 for index in long_at)
    assert all(20 <= gap <= 60 for index, gap in enumerate(gaps) if index not in long_at)


def test_a_rested_number_starts_a_new_run() -> None:
    policy = OPEN.overrides(long_pause_every=3, long_pause_s="300-900")
    pacer = NumberPacer(rng=random.Random(4))
    run(pacer, policy, 2)
    later = T0 + timedelta(hours=2)
    pacer.record_send(later)  # after a two-hour silence this send opens a run of one
    assert plan(pacer, later, policy).held_by is HoldReason.GAP


def test_hourly_cap_holds_until_the_oldest_send_leaves_the_hour() -> None:
    policy = OPEN.overrides(gap_s=1, hourly_cap=10)
    pacer = NumberPacer(rng=random.Random(5))
    sent = run(pacer, policy, 10)
    assert plan(pacer, sent[-1], policy) == Slot(
        sent[0] + timedelta(hours=1), HoldReason.HOURLY_CAP
    )
    assert run(NumberPacer(rng=random.Random(5)), policy, 25)[20] == T0 + timedelta(hours=2)


def test_daily_cap_is_a_rolling_24_hours() -> None:
    policy = OPEN.overrides(gap_s=60, daily_cap=30)
    pacer = NumberPacer(rng=random.Random(6))
    sent = run(pacer, policy, 30)
    assert sent[29] == T0 + timedelta(minutes=29)
    assert plan(pacer, sent[29], policy).held_by is HoldReason.DAILY_CAP
    sent += run(pacer, policy, 1)
    assert sent[30] == T0 + timedelta(days=1)


def test_warmup_ramps_the_daily_cap_by_number_age() -> None:
    policy = PacingPolicy(warmup=(20, 40, 80, 150), daily_cap=100)
    assert [policy.daily_cap_on(age) for age in range(6)] == [20, 40, 80, 100, 100, 100]
    assert PacingPolicy(warmup=(20, 40), daily_cap=None).daily_cap_on(2) is None
    young = OPEN.overrides(gap_s=1, warmup=[20, 40, 80])
    for age, cap in ((0, 20), (1, 40), (2, 80)):
        sent = run(NumberPacer(rng=random.Random(8)), young, cap + 1, age=age)
        assert sent[cap] == T0 + timedelta(days=1), age
        assert sent[cap - 1] == T0 + timedelta(seconds=cap - 1)


def test_window_follows_each_recipients_own_zone() -> None:
    policy = OPEN.overrides(window="09:00-20:00")
    ar_tz, es_tz = recipient_timezone(AR_MOBILE, BA), recipient_timezone(ES_MOBILE, BA)
    assert (ar_tz, es_tz) == (BA, MADRID)
    pacer = NumberPacer(rng=random.Random(13))  # one number, one campaign, two recipients
    at_21_in_ba = datetime(2025, 3, 10, 21, 0, tzinfo=ZoneInfo(BA))
    next_morning_ba = datetime(2025, 3, 11, 9, 0, tzinfo=ZoneInfo(BA))
    next_morning_madrid = datetime(2025, 3, 11, 9, 0, tzinfo=ZoneInfo(MADRID))
    assert plan(pacer, at_21_in_ba, policy, tz=ar_tz) == Slot(next_morning_ba, HoldReason.WINDOW)
    assert plan(pacer, at_21_in_ba, policy, tz=es_tz).at == next_morning_madrid
    # 16:30 in Buenos Aires is open there, but 20:30 in Madrid is not.
    afternoon = datetime(2025, 3, 10, 19, 30, tzinfo=UTC)
    assert plan(pacer, afternoon, policy, tz=ar_tz).at == afternoon
    assert plan(pacer, afternoon, policy, tz=es_tz).at == next_morning_madrid


def test_window_may_cross_midnight_and_sends_never_leave_it() -> None:
    window = SendWindow.parse("22:00-06:00")
    assert window is not None
    policy = OPEN.overrides(window=window, gap_s="600-1800")
    sent = run(NumberPacer(rng=random.Random(9)), policy, 100, tz=BA)
    local = [moment.astimezone(ZoneInfo(BA)) for moment in sent]
    assert local[0] == datetime(2025, 3, 10, 22, 0, tzinfo=ZoneInfo(BA))
    assert all(window.contains(moment.time()) for moment in local)
    assert len({moment.date() for moment in local}) > 3


def test_window_opening_respects_daylight_saving() -> None:
    policy = OPEN.overrides(window="09:00-20:00")
    saturday_night = datetime(2025, 3, 29, 21, 0, tzinfo=UTC)  # Madrid moves to CEST on Sunday
    slot = plan(NumberPacer(), saturday_night, policy, tz=MADRID)
    assert slot.at == datetime(2025, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST


def test_two_campaigns_on_one_number_share_its_pace() -> None:
    policy = OPEN.overrides(hourly_cap=40)
    pacer = NumberPacer(rng=random.Random(10))
    queues = {"spring": 60, "vip": 60}
    now, log = T0, []
    while any(queues.values()):
        for name in sorted(queues, key=lambda name: (queues[name] == 0, -queues[name], name)):
            if queues[name]:
                now = plan(pacer, now, policy).at
                pacer.record_send(now)
                queues[name] -= 1
                log.append((now, name))
                break
    times = [moment for moment, _ in log]
    # Exactly the schedule of one campaign of 120 sends: the number's pace, not twice it.
    assert times == run(NumberPacer(rng=random.Random(10)), policy, 120)
    assert all(gap >= 20 for gap in gaps_s(times))
    first_hour = [name for moment, name in log if moment < T0 + timedelta(hours=1)]
    assert len(first_hour) == 40
    assert first_hour.count("spring") == first_hour.count("vip") == 20


def test_seeding_from_history_keeps_the_caps_after_a_restart() -> None:
    policy = OPEN.overrides(gap_s=1, hourly_cap=10, daily_cap=15)
    before = NumberPacer(rng=random.Random(11))
    sent = run(before, policy, 10)
    stored = [*sent, T0 - timedelta(hours=3), T0 - timedelta(hours=30)]
    after = NumberPacer(history=stored, rng=random.Random(12))
    assert len(after.history) == 11  # the 30-hour-old send no longer counts
    assert plan(after, sent[-1], policy).at == T0 + timedelta(hours=1)
    assert plan(NumberPacer(rng=random.Random(12)), sent[-1], policy).at == sent[-1]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        NumberPacer().record_send(datetime(2025, 1, 1))


def test_policy_dict_round_trip_and_layers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WAOPS_SEND_GAP_S", "0.5")
    monkeypatch.setenv("WAOPS_SEND_WINDOW", "always")
    defaults = PacingPolicy.from_settings(load_settings())
    assert defaults.gap_s == SecondsRange(0.5, 0.5) and defaults.window is None
    assert PacingPolicy.from_dict(defaults.to_dict()) == defaults
    session = {"hourly_cap": 50, "window": "08:00-21:00", "warmup": "10, 20"}
    campaign = {"hourly_cap": None, "gap_s": "30-90"}
    policy = merged(defaults, session, None, campaign)
    assert policy.hourly_cap is None  # the campaign lifted the session's cap
    assert policy.gap_s == SecondsRange(30, 90)
    assert policy.window == SendWindow(time(8), time(21))
    assert policy.warmup == (10, 20)
    assert policy.long_pause_every == defaults.long_pause_every
    assert PacingPolicy.from_dict(policy.to_dict()) == policy
    assert PacingPolicy().window == SendWindow(time(9), time(20))


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"gap": "20-60"}, "gap"),
        ({"gap_s": "60-20"}, "gap_s"),
        ({"long_pause_s": [1, 2]}, "long_pause_s"),
        ({"long_pause_every": -1}, "long_pause_every"),
        ({"hourly_cap": 0}, "hourly_cap"),
        ({"daily_cap": "lots"}, "daily_cap"),
        ({"daily_cap": True}, "daily_cap"),
        ({"warmup": [20, 0]}, "warmup"),
        ({"warmup": 20}, "warmup"),
        ({"window": "9am-8pm"}, "window"),
    ],
)
def test_bad_policy_dicts_name_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(InvalidInput, match=f"'{key}'|pacing {key}:"):
        PacingPolicy.from_dict(data)


def test_typed_construction_is_validated_too() -> None:
    with pytest.raises(InvalidInput, match="hourly_cap"):
        PacingPolicy(hourly_cap=0)


def test_recipient_timezone_falls_back_when_the_number_does_not_tell() -> None:
    assert recipient_timezone("12015550123", BA) == "America/New_York"
    assert recipient_timezone("18005550199", BA) == BA  # toll-free: dozens of zones
    assert recipient_timezone(ES_MOBILE, "Atlantic/Canary") == "Atlantic/Canary"
    assert recipient_timezone("not a phone", MADRID) == MADRID
    with pytest.raises(InvalidInput, match="time zone"):
        recipient_timezone(AR_MOBILE, "Mars/Olympus")


def test_estimate_finish() -> None:
    assert estimate_finish(T0, 0, OPEN) == T0
    assert estimate_finish(T0, 10_000, PacingPolicy.unpaced()) == T0
    assert estimate_finish(T0, 10, OPEN) == T0 + timedelta(seconds=9 * 40)
    assert estimate_finish(T0, 1, OPEN, history=[T0]) == T0 + timedelta(seconds=40)
    capped = OPEN.overrides(daily_cap=100)
    assert estimate_finish(T0, 1000, capped) >= T0 + timedelta(days=9)
    windowed = OPEN.overrides(window="09:00-20:00")
    finish = estimate_finish(T0, 2000, windowed, recipient_tz=BA, number_age_days=0)
    assert finish.astimezone(ZoneInfo(BA)).time() < time(20)
    young = PacingPolicy().overrides(warmup=[20, 40], daily_cap=100)
    assert estimate_finish(T0, 60, young, number_age_days=0) > estimate_finish(T0, 60, young)
