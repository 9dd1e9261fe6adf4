"""Everything one simulator instance knows: its phones and WhatsApp's view of other numbers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiohttp import web

from engine.whatsapp.simulator import ids
from engine.whatsapp.simulator.phone import Json, Phone, SimulatorError

logger = logging.getLogger(__name__)

# The messageSendResult values of WA-JS 4.6.0 (src/whatsapp/enums/SendMsgResult.ts).
SEND_RESULTS = frozenset(
    {"OK", "ERROR_NETWORK", "ERROR_EXPIRED", "ERROR_CANCELLED", "ERROR_UPLOAD", "ERROR_UNKNOWN"}
)

DEFAULT_UPLOAD_LIMITS = {
    "image": 16 * 1024 * 1024,
    "video": 16 * 1024 * 1024,
    "audio": 16 * 1024 * 1024,
    "sticker": 16 * 1024 * 1024,
    "document": 100 * 1024 * 1024,
}


@dataclass(frozen=True, slots=True)
class PageConfig:
    """Timings the simulated page uses; the defaults are WA-JS 4.6.0's own."""

    # linkDeviceCodeLifecycle.ts: LINK_CODE_TTL_MS = 3.25 * 60 * 1000.
    link_code_ttl_s: float = 195.0
    # queryWidExists.ts: "5-min TTL for hits, 15s for misses".
    exists_hit_ttl_s: float = 300.0
    exists_miss_ttl_s: float = 15.0
    # How long a ciphertext message stays undecrypted before its real type arrives.
    decrypt_delay_s: float = 0.05
    # MediaGatingUtils.getUploadLimit(mediaType) per type, in bytes (src/whatsapp/misc/
    # MediaGatingUtils.ts l.22-35; sendFileMessage.ts l.302-317 refuses larger files). WhatsApp
    # sets the real values from its server props; the source has none. These defaults are WA-JS's
    # own figures: setLimit('maxMediaSize', 16777216) (src/conn/functions/setLimit.ts l.90) for
    # media and ServerPropsConstants' 100 MiB fallback for documents (ServerPropsConstants.ts
    # l.40-49). Not verified against a live session.
    upload_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_UPLOAD_LIMITS))

    def as_json(self) -> Json:
        """What the page receives in its ``init`` push."""
        return {
            "link_code_ttl_s": self.link_code_ttl_s,
            "exists_hit_ttl_s": self.exists_hit_ttl_s,
            "exists_miss_ttl_s": self.exists_miss_ttl_s,
            "decrypt_delay_s": self.decrypt_delay_s,
            "upload_limits": dict(self.upload_limits),
        }


class SimulatorState:
    """The simulated WhatsApp side. Phones appear when their page is first opened."""

    def __init__(
        self,
        *,
        qr_rotate_s: float = 20.0,
        qr_idle_after: int | None = None,
        page: PageConfig | None = None,
        phones: tuple[str, ...] = (),
    ) -> None:
        self.qr_rotate_s = qr_rotate_s
        self.qr_idle_after = qr_idle_after
        self.page = page or PageConfig()
        self.phones: dict[str, Phone] = {}
        self.not_on_whatsapp: set[str] = set()
        # Canonical phone digits -> LID digits: who has migrated to a LID.
        self.lids: dict[str, str] = {}
        # Canonical phone digits -> the messageSendResult of sends to them.
        self.send_results: dict[str, str] = {}
        self.heavy_requests = 0
        # WhatsApp's media servers: files by filehash (base64 SHA-256), inbound and uploaded.
        self.media: dict[str, bytes] = {}
        for name in phones:
            self.open(name)

    def open(self, name: str) -> Phone:
        """The phone called ``name``, created on first use (a page visit)."""
        if name not in self.phones:
            self.phones[name] = Phone(
                name, self.qr_rotate_s, qr_idle_after=self.qr_idle_after, page=self.page
            )
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

    def set_lid(self, phone: str, lid: str | None) -> None:
        """Give ``phone`` a LID (``None`` removes it)."""
        digits = ids.phone_digits(phone)
        if lid is None:
            self.lids.pop(digits, None)
            return
        lid_digits = ids.digits(lid, "LID")
        for other, known in self.lids.items():
            if known == lid_digits and other != digits:
                raise SimulatorError(400, f"LID {lid_digits} already belongs to +{other}")
        self.lids[digits] = lid_digits

    def set_send_result(self, phone: str, result: str | None) -> None:
        """Sends to ``phone`` resolve with ``result`` (``None``: OK again)."""
        digits = ids.phone_digits(phone)
        if result is None:
            self.send_results.pop(digits, None)
        elif result not in SEND_RESULTS:
            raise SimulatorError(
                400, f"send_result must be one of {', '.join(sorted(SEND_RESULTS))}, got {result!r}"
            )
        else:
            self.send_results[digits] = result

    def lid_of(self, wid: str) -> str | None:
        """``<lid>@lid`` of a ``@c.us`` id, when that contact has a LID."""
        user, _, server = wid.partition("@")
        if server != "c.us":
            return None
        lid = self.lids.get(ids.phone_digits(user))
        return None if lid is None else f"{lid}@lid"

    def phone_of(self, lid_wid: str) -> str | None:
        """``<phone>@c.us`` of a ``@lid`` id, when the LID table knows it."""
        lid = lid_wid.partition("@")[0]
        for phone, known in self.lids.items():
            if known == lid:
                return f"{phone}@c.us"
        return None

    def chat_of(self, wid: str) -> str:
        """The 1:1 chat WhatsApp uses for ``wid``: the @lid one once the contact has a LID
        (find.ts / findOrCreateLatestChat)."""
        return self.lid_of(ids.canonical_wid(wid)) or wid

    def send_result(self, chat: str) -> str:
        """The messageSendResult of a send to ``chat`` (@c.us or @lid)."""
        phone = self.phone_of(chat) if chat.endswith("@lid") else chat
        if phone is None or not phone.endswith("@c.us"):
            return "OK"
        return self.send_results.get(ids.phone_digits(phone), "OK")

    def query_exists(self, number: str) -> Json | None:
        """WhatsApp's answer to a usync query: ``{wid, biz, lid?}`` or ``None`` when the number
        is not on WhatsApp. ``wid`` is canonical (Argentine 9 added)."""
        wid = ids.to_wid(number)
        if wid.endswith("@lid"):
            return {"wid": wid, "biz": False} if self.phone_of(wid) else None
        if wid in self.not_on_whatsapp or ids.canonical_wid(wid) in self.not_on_whatsapp:
            return None
        canonical = ids.canonical_wid(wid)
        return {"wid": canonical, "biz": False, "lid": self.lid_of(canonical)}


STATE = web.AppKey("waops_simulator_state", SimulatorState)
