"""A typed client of the simulator's control API (tests, the demo, scripts)."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import aiohttp

from engine.lifecycle import TwoPhase

logger = logging.getLogger(__name__)


class SimulatorControlError(Exception):
    """The simulator refused a control call; ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SimulatorClient(TwoPhase):
    """``async with SimulatorClient(base_url) as sim: await sim.scan("haby-main", "549...")``."""

    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: aiohttp.ClientSession | None = None

    async def initialize(self) -> None:
        self._http = aiohttp.ClientSession(timeout=self._timeout)

    async def shutdown(self) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (idempotent)."""
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """One call; refusals raise ``SimulatorControlError`` with the simulator's message."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
        # A BytesIO body: aiohttp warns that large raw bodies (inbound media) block the loop.
        payload = None if body is None else io.BytesIO(json.dumps(body).encode("utf-8"))
        headers = {} if body is None else {"Content-Type": "application/json"}
        url = self.base_url + path
        async with self._http.request(method, url, data=payload, headers=headers) as response:
            data = await response.json()
            if response.status >= 400:
                raise SimulatorControlError(response.status, str(data.get("error")))
            return data

    async def sessions(self) -> dict[str, dict[str, Any]]:
        """Every simulated phone by name, with state and current auth code."""
        data = await self.request("GET", "/control/sessions")
        return {entry["name"]: entry for entry in data["sessions"]}

    async def session(self, session: str) -> dict[str, Any]:
        """One phone's entry of ``sessions()``."""
        return (await self.sessions())[session]

    async def scan(self, session: str, phone: str, *, code: str | None = None) -> None:
        """The phone scans the QR (or enters the pairing ``code``)."""
        body = {"phone": phone} if code is None else {"phone": phone, "code": code}
        await self.request("POST", f"/control/sessions/{session}/scan", body)

    async def inbound(
        self,
        session: str,
        sender: str,
        body: str | None = None,
        *,
        name: str | None = None,
        message_id: str | None = None,
        ciphertext: bool = False,
        group: str | None = None,
        status: bool = False,
        quoted_id: str | None = None,
        **fields: Any,
    ) -> str:
        """A contact writes; returns the message id (``message_id`` redelivers that id).
        ``fields`` are the other inbound fields (``type``, ``caption``, ``lid``, ...)."""
        payload: dict[str, Any] = {"from": sender, "body": body, "name": name, "id": message_id}
        payload.update(ciphertext=ciphertext, group=group, status=status, quoted_id=quoted_id)
        payload.update(fields)
        data = await self.request("POST", f"/control/sessions/{session}/inbound", payload)
        return str(data["id"])

    async def inbound_media(
        self,
        session: str,
        sender: str,
        kind: str,
        data: bytes,
        *,
        caption: str | None = None,
        mimetype: str | None = None,
        filename: str | None = None,
        duration: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A contact sends a file; returns ``{id, chat, from, filehash, size}``."""
        media: dict[str, Any] = {"kind": kind, "data": base64.b64encode(data).decode("ascii")}
        extra = {"mimetype": mimetype, "filename": filename, "duration": duration}
        media.update({k: v for k, v in extra.items() if v is not None})
        payload: dict[str, Any] = {"from": sender, "media": media, "caption": caption, **fields}
        data_out = await self.request("POST", f"/control/sessions/{session}/inbound", payload)
        return dict(data_out)

    async def media_failures(self, session: str, count: int) -> None:
        """The next ``count`` downloads of ``session`` find nothing (``media_not_found``)."""
        path = f"/control/sessions/{session}/media-failures"
        await self.request("POST", path, {"count": count})

    async def phone_message(
        self, session: str, to: str, body: str, *, lid: bool | None = None
    ) -> str:
        """Someone types on the business phone itself; returns the message id."""
        path = f"/control/sessions/{session}/phone-message"
        data = await self.request("POST", path, {"to": to, "body": body, "lid": lid})
        return str(data["id"])

    async def ack(self, session: str, message_id: str, ack: int) -> None:
        """A receipt for a message."""
        path = f"/control/sessions/{session}/ack"
        await self.request("POST", path, {"id": message_id, "ack": ack})

    async def action(self, session: str, action: str) -> None:
        """``drop``, ``restore``, ``logout``, ``ban``, ``reload``, ``freeze``, ``stall-sends``,
        ``release-sends``, ``conflict``, ``expire-link-code`` or ``qr-idle``."""
        await self.request("POST", f"/control/sessions/{session}/{action}")

    async def reload(self, session: str, *, ready_after_s: float = 0.0) -> None:
        """The page reloads; ``WPP.isReady`` comes ``ready_after_s`` after it."""
        path = f"/control/sessions/{session}/reload"
        await self.request("POST", path, {"ready_after_s": ready_after_s})

    async def sent(self, session: str) -> list[dict[str, Any]]:
        """What the session sent: to, body, id, time."""
        data = await self.request("GET", f"/control/sessions/{session}/sent")
        return list(data["sent"])

    async def not_on_whatsapp(self, numbers: list[str]) -> None:
        """Mark numbers as not on WhatsApp."""
        await self.request("POST", "/control/numbers", {"not_on_whatsapp": numbers})

    async def send_results(self, results: dict[str, str | None]) -> None:
        """Sends to these numbers resolve with that messageSendResult (``None``: OK again)."""
        await self.request("POST", "/control/numbers", {"send_result": results})

    async def lids(self, table: dict[str, str | None] | None = None) -> dict[str, str]:
        """Update the LID table (phone -> LID digits, ``None`` removes); returns it."""
        if table is None:
            data = await self.request("GET", "/control/lids")
        else:
            data = await self.request("POST", "/control/lids", table)
        return dict(data["lids"])
