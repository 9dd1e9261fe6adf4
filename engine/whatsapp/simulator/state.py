"""Everything one simulator instance knows: its phones and the numbers not on WhatsApp."""

from __future__ import annotations

import logging

from aiohttp import web

from engine.whatsapp.simulator import ids
from engine.whatsapp.simulator.phone import Phone, SimulatorError

logger = logging.getLogger(__name__)


class SimulatorState:
    """The simulated WhatsApp side. Phones appear when their page is first opened."""

    def __init__(self, *, qr_rotate_s: float = 20.0, phones: tuple[str, ...] = ()) -> None:
        self.qr_rotate_s = qr_rotate_s
        self.phones: dict[str, Phone] = {}
        self.not_on_whatsapp: set[str] = set()
        self.heavy_requests = 0
        for name in phones:
            self.open(name)

    def open(self, name: str) -> Phone:
        """The phone called ``name``, created on first use (a page visit)."""
        if name not in self.phones:
            self.phones[name] = Phone(name, self.qr_rotate_s)
            logger.info("simulated phone %s created", name)
        return self.phones[name]

    def phone(self, name: str) -> Phone:
        """An existing phone, or a 404 naming the ones that exist."""
        try:
            return self.phones[name]
        except KeyError:
            known = ", ".join(sorted(self.phones)) or "none yet (open /s/<name> first)"
            raise SimulatorError(
                404, f"unknown session {name!r}; known sessions: {known}"
            ) from None

    def mark_missing(self, numbers: list[str]) -> None:
        """These numbers are not on WhatsApp (canonical and as written)."""
        for number in numbers:
            wid = ids.to_wid(number)
            self.not_on_whatsapp.update({wid, ids.canonical_wid(wid)})

    def query_exists(self, number: str) -> str | None:
        """``queryWidExists``: the canonical wid, or ``None`` for a number marked missing."""
        wid = ids.to_wid(number)
        if wid in self.not_on_whatsapp or ids.canonical_wid(wid) in self.not_on_whatsapp:
            return None
        return ids.canonical_wid(wid)


STATE = web.AppKey("waops_simulator_state", SimulatorState)
