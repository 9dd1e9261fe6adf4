"""Socket Mode of the fake Slack: the WebSocket `apps.connections.open` points to, which pushes
envelopes to the client and records the acks it sends back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web


class SocketMode:
    """One Socket Mode connection at a time, its envelopes and their acks."""

    def __init__(self, next_id: Callable[[], int], unexpected: list[str]) -> None:
        self.acks: list[dict[str, Any]] = []
        self._next_id = next_id
        self._unexpected = unexpected
        self._waiting_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._socket: web.WebSocketResponse | None = None
        self._socket_ready = asyncio.Event()

    async def wait_socket(self, timeout_s: float = 5.0) -> None:
        """Until a Socket Mode client is connected."""
        await asyncio.wait_for(self._socket_ready.wait(), timeout_s)

    async def push(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> str:
        """Send an envelope (`slash_commands`, `interactive`, `events_api`); its id."""
        assert self._socket is not None, "no Socket Mode client connected"
        envelope_id = f"env-{self._next_id()}"
        self._waiting_acks[envelope_id] = asyncio.get_running_loop().create_future()
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        await self._socket.send_str(json.dumps(envelope))
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout_s: float = 5.0) -> dict[str, Any]:
        """The ack the client sent for `envelope_id`."""
        return await asyncio.wait_for(self._waiting_acks[envelope_id], timeout_s)

    async def close_socket(self) -> None:
        """Close the connection (before the server stops, which would wait for it)."""
        if self._socket is not None:
            await self._socket.close()

    def cancel_waiting(self) -> None:
        """Nobody will ack now: wake whoever waits for an ack."""
        for waiting in self._waiting_acks.values():
            waiting.cancel()

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        """The `/socket` route: hello, then every text message must ack a pushed envelope."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1})
        self._socket_ready.set()
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            waiting = self._waiting_acks.get(str(data.get("envelope_id")))
            if waiting is None or waiting.done():
                self._unexpected.append(f"socket message {message.data}")
                continue
            self.acks.append(data)
            waiting.set_result(data)
        return socket
