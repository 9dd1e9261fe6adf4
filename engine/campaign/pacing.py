"""Campaign pacing per WhatsApp number, shared by every campaign that sends from that number.

Rules (see DESIGN.md "Pacing"):
- Gap: a random pause drawn from `gap_s` after every send; after `long_pause_every` sends in a
  row a pause drawn from `long_pause_s` instead. A silence at least as long as the long pause's
  minimum (a night, a closed window, a pause) starts a new run, so a rested number is not made to
  pause again.
- Caps are rolling windows: at most `hourly_cap` sends in any 60 minutes and at most the day's
  cap in any 24 hours. Rolling windows need no time zone and survive a restart when the pacer
  is seeded with the sends of the last 24 h.
- Warm-up: `warmup = (20, 40, 80, 150)` makes the daily cap 20 on the day the number was paired
  (`number_age_days == 0`), 40 the next day, and so on; after the list, `daily_cap` applies. When
  both apply, the smaller wins. An empty tuple switches warm-up off.
- Window: the slot must fall inside `window` in the recipient's local time; otherwise it is held to
  the next opening. Messages are never sent outside it.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InvalidInput
from engine.phones import InvalidPhone, parse_phone
from engine.settings import SecondsRange, SendWindow, Settings

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
# Countries whose mobile numbers also list island zones: the mainland zone is the likely one.
_MAINLAND_ZONES = {"ES": "Europe/Madrid", "PT": "Europe/Lisbon", "EC": "America/Guayaquil"}
_NO_LIMIT = ("none", "off", "no", "")
_GAP_S, _LONG_PAUSE_S = SecondsRange(20, 60), SecondsRange(300, 900)
_WINDOW = SendWindow(time(9), time(20))


@dataclass(frozen=True)
class PacingPolicy:
    """How fast one WhatsApp number may send; stored as `to_dict()` JSON per session/campaign."""

    gap_s: SecondsRange = _GAP_S
    long_pause_every: int = 25  # sends in a row before a long pause; 0 = never
    long_pause_s: SecondsRange = _LONG_PAUSE_S
    hourly_cap: int | None = None
    daily_cap: int | None = None
    warmup: tuple[int, ...] = (20, 40, 80, 150)  # daily cap on day 1, 2, 3... after pairing
    window: SendWindow | None = _WINDOW

    def __post_init__(self) -> None:
        for key, parse in _PARSERS.items():
            _parse_key(key, parse, getattr(self, key))

    @classmethod
    def from_settings(cls, settings: Settings) -> PacingPolicy:
        """Process defaults: the gap and window come from `WAOPS_SEND_GAP_S`/`WAOPS_SEND_WINDOW`."""
        return cls(gap_s=settings.send_gap_s, window=settings.send_window)

    @classmethod
    def unpaced(cls) -> PacingPolicy:
        """No gap, pause, cap, warm-up or window: for benchmarks and tests of other things."""
        return cls(SecondsRange(0, 0), 0, SecondsRange(0, 0), None, None, (), None)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, object], base: PacingPolicy | None = None
    ) -> PacingPolicy:
        """Apply the keys present in `data` (storage JSON or chat input) over `base`."""
        unknown = sorted(set(data) - set(_PARSERS))
        if unknown:
            known = ", ".join(_PARSERS)
            raise InvalidInput("pace.unknown_key", key=unknown[0], known=known)
        changes = {key: _parse_key(key, _PARSERS[key], raw) for key, raw in data.items()}
        return replace(base if base is not None else cls(), **changes)  # type: ignore[arg-type]

    def overrides(self, **changes: object) -> PacingPolicy:
        """This policy with some keys replaced; values as in `from_dict` or typed."""
        return PacingPolicy.from_dict(changes, self)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form that `from_dict` reads back unchanged."""
        return {
            "gap_s": str(self.gap_s),
            "long_pause_every": self.long_pause_every,
            "long_pause_s": str(self.long_pause_s),
            "hourly_cap": self.hourly_cap,
            "daily_cap": self.daily_cap,
            "warmup": list(self.warmup),
            "window": str(self.window) if self.window is not None else "always",
        }

    def daily_cap_on(self, number_age_days: int) -> int | None:
        """The daily cap for a number paired `number_age_days` ago (0 = paired today)."""
        caps = [] if self.daily_cap is None else [self.daily_cap]
        if 0 <= number_age_days < len(self.warmup):
            caps.append(self.warmup[number_age_days])
        return min(caps) if caps else None


def merged(base: PacingPolicy, *layers: Mapping[str, object] | None) -> PacingPolicy:
    """Apply override dicts in order: `merged(defaults, session.pacing, campaign.pacing)`."""
    policy = base
    for layer in layers:
        if layer:
            policy = PacingPolicy.from_dict(layer, policy)
    return policy


def _parse_key(key: str, parse: Callable[[object], object], raw: object) -> object:
    try:
        return parse(raw)
    except (TypeError, ValueError) as exc:
        # The parsers below say why as a Text; a TypeError from deeper down keeps its words.
        reason = exc.text if isinstance(exc, InvalidInput) else str(exc)
        raise InvalidInput("pace.bad_value", key=key, reason=reason) from exc


def _seconds_range(raw: object) -> SecondsRange:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = SecondsRange(float(raw), float(raw))
    span = SecondsRange.parse(raw) if isinstance(raw, str) else raw
    if not isinstance(span, SecondsRange) or not 0 <= span.low_s <= span.high_s:
        raise InvalidInput("pace.expected_range", raw=raw)
    return span


def _count(raw: object) -> int:
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    raise InvalidInput("pace.expected_count", raw=raw)


def _is_off(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip().lower() in _NO_LIMIT)


def _cap(raw: object) -> int | None:
    if _is_off(raw):
        return None
    if _count(raw) < 1:
        raise InvalidInput("pace.cap_too_small")
    return _count(raw)


def _warmup(raw: object) -> tuple[int, ...]:
    if _is_off(raw):
        return ()
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple):
        raise InvalidInput("pace.expected_caps", raw=raw)
    caps = tuple(_count(item.strip() if isinstance(item, str) else item) for item in items)
    if any(cap < 1 for cap in caps):
        raise InvalidInput("pace.day_cap_too_small")
    return caps


def _window(raw: object) -> SendWindow | None:
    if raw is None or isinstance(raw, SendWindow):
        return raw
    if isinstance(raw, str):
        return SendWindow.parse(raw)
    raise InvalidInput("window.expected", raw=raw)


_PARSERS: dict[str, Callable[[object], object]] = {
    "gap_s": _seconds_range,
    "long_pause_every": _count,
    "long_pause_s": _seconds_range,
    "hourly_cap": _cap,
    "daily_cap": _cap,
    "warmup": _warmup,
    "window": _window,
}


class HoldReason(StrEnum):
    """What decided a slot, for progress messages ("held until 09:00 by the send window")."""

    NONE = "none"
    GAP = "gap"
    LONG_PAUSE = "long_pause"
    HOURLY_CAP = "hourly_cap"
    DAILY_CAP = "daily_cap"
    WINDOW = "window"


@dataclass(frozen=True)
class Slot:
    """The earliest moment (aware, UTC) the next message may go, and what held it there."""

    at: datetime
    held_by: HoldReason


class NumberPacer:
    """Send history and random draws of one WhatsApp number; deterministic given `rng`.

    Callers serialise per number: take the slot, wait until it, send, `record_send`, all under one
    lock, so two campaigns on the number cannot both use the same slot.
    """

    def __init__(self, *, history: Iterable[datetime] = (), rng: random.Random | None = None):
        self._rng = rng if rng is not None else random.Random()
        self._sends: list[datetime] = sorted(_utc(at) for at in history)
        self._prune()
        self._draw()

    @property
    def history(self) -> tuple[datetime, ...]:
        """Sends still relevant to the caps (the last 24 h before the newest), oldest first."""
        return tuple(self._sends)

    def plan(
        self, now: datetime, *, recipient_tz: str, policy: PacingPolicy, number_age_days: int
    ) -> Slot:
        """The next slot and its reason; the same until `record_send` is called."""
        return _plan(
            self._sends, _utc(now), _zone(recipient_tz), policy, number_age_days, self._fractions
        )

    def next_slot(
        self, now: datetime, *, recipient_tz: str, policy: PacingPolicy, number_age_days: int
    ) -> datetime:
        """The earliest aware datetime at which the next message to this recipient may go."""
        return self.plan(
            now, recipient_tz=recipient_tz, policy=policy, number_age_days=number_age_days
        ).at

    def record_send(self, at: datetime) -> None:
        """A message left this number at `at`; the next gap is drawn now, once."""
        bisect.insort(self._sends, _utc(at))
        self._prune()
        self._draw()

    def _draw(self) -> None:
        # Fractions, not seconds: the same draw scales to whichever policy the caller passes.
        self._fractions = (self._rng.random(), self._rng.random())

    def _prune(self) -> None:
        if self._sends:
            oldest = bisect.bisect_right(self._sends, self._sends[-1] - DAY)
            del self._sends[:oldest]


def estimate_finish(
    now: datetime,
    remaining: int,
    policy: PacingPolicy,
    *,
    recipient_tz: str = "UTC",
    number_age_days: int | None = None,
    history: Iterable[datetime] = (),
) -> datetime:
    """Expected time of the last of `remaining` sends at average gaps, caps and window.

    Simulates every send (O(remaining)): call it when progress is reported, not per send.
    `number_age_days` None means a mature number (no warm-up); `history` as for NumberPacer.
    """
    start = _utc(now)
    sends = sorted(_utc(at) for at in history)
    zone = _zone(recipient_tz)
    at = start
    for _ in range(max(remaining, 0)):
        age = 1 << 30 if number_age_days is None else number_age_days + (at - start) // DAY
        at = _plan(sends, at, zone, policy, age, (0.5, 0.5)).at
        sends.append(at)
    return at


def recipient_timezone(phone_digits: str, fallback_tz: str) -> str:
    """The recipient's IANA zone from the number when it tells one, else `fallback_tz`.

    A number with several zones resolves to the fallback when it is one of them, to the mainland
    zone for ES/PT/EC mobiles (which also list island zones), else to the fallback.
    """
    _zone(fallback_tz)
    try:
        phone = parse_phone("+" + phone_digits.lstrip("+"), "ZZ")
    except InvalidPhone:
        return fallback_tz
    zones = phone.timezones()
    if len(zones) > 1:
        if fallback_tz in zones:
            return fallback_tz
        mainland = _MAINLAND_ZONES.get(phone.region or "")
        zones = (mainland,) if mainland in zones else ()
    if len(zones) != 1:
        return fallback_tz
    try:
        return ZoneInfo(zones[0]).key
    except ZoneInfoNotFoundError:  # a zone phonenumbers knows but this system's tzdata lacks
        return fallback_tz


def _plan(
    sends: list[datetime],
    now: datetime,
    zone: ZoneInfo,
    policy: PacingPolicy,
    number_age_days: int,
    fractions: tuple[float, float],
) -> Slot:
    holds: list[tuple[datetime, HoldReason]] = [(now, HoldReason.NONE)]
    if sends:
        every = policy.long_pause_every
        if every and _run_length(sends, policy.long_pause_s.low_s) >= every:
            pause_s, reason = _between(policy.long_pause_s, fractions[1]), HoldReason.LONG_PAUSE
        else:
            pause_s, reason = _between(policy.gap_s, fractions[0]), HoldReason.GAP
        holds.append((sends[-1] + timedelta(seconds=pause_s), reason))
    caps = (
        (policy.hourly_cap, HOUR, HoldReason.HOURLY_CAP),
        (policy.daily_cap_on(number_age_days), DAY, HoldReason.DAILY_CAP),
    )
    for cap, span, reason in caps:
        if cap is not None and len(sends) >= cap:
            # Rolling window (t - span, t]: the cap-th newest send must have left it.
            holds.append((sends[-cap] + span, reason))
    at, held_by = max(holds, key=lambda hold: hold[0])
    if policy.window is not None:
        opening = _next_opening(at, zone, policy.window)
        if opening > at:
            at, held_by = opening, HoldReason.WINDOW
    return Slot(at, held_by)


def _run_length(sends: list[datetime], break_s: float) -> int:
    """Sends in the latest run: consecutive sends closer together than `break_s`."""
    run = 1
    for index in range(len(sends) - 1, 0, -1):
        if (sends[index] - sends[index - 1]).total_seconds() >= break_s:
            break
        run += 1
    return run


def _between(span: SecondsRange, fraction: float) -> float:
    return span.low_s + (span.high_s - span.low_s) * fraction


def _next_opening(at: datetime, zone: ZoneInfo, window: SendWindow) -> datetime:
    local = at.astimezone(zone)
    if window.contains(local.time()):
        return at
    opening = datetime.combine(local.date(), window.start, tzinfo=zone)
    if opening <= local:  # same tzinfo: compares wall-clock times, as wanted
        opening += DAY
    return opening.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("zone.unknown", name=name) from exc


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"pacing needs timezone-aware datetimes, got {moment!r}")
    return moment.astimezone(UTC)
