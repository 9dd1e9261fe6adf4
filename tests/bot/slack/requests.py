"""Slack's side of the wire for the adapter tests: signed HTTP requests and their payloads."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from tests.support.fakes.slack_server import TEAM, FakeSlack, Message

UNUSABLE_URL = "http://127.0.0.1:9/unused"
"""A response_url that is not Slack's: the adapter must not post there (it falls back)."""


def slash_payload(
    user: str,
    text: str,
    channel: str,
    command: str = "/waops",
    *,
    response_url: str = UNUSABLE_URL,
    team: str = TEAM,
    enterprise: str | None = None,
) -> dict[str, str]:
    payload = {
        "token": "legacy-verification-token",
        "team_id": team,
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": "ops",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0WAOPS",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }
    if enterprise is not None:
        payload["enterprise_id"] = enterprise
    return payload


def press_payload(
    user: str,
    message: Message,
    action_id: str,
    *,
    response_url: str = UNUSABLE_URL,
    team: str = TEAM,
) -> dict[str, Any]:
    """A block_actions payload for pressing button `action_id` of a message the bot posted.

    For an ephemeral message the container says so and the payload carries no `message` (the
    method pages do not promise one for ephemeral sources, so waops must not depend on it).
    """
    button = next(b for b in message.buttons if b["action_id"] == action_id)
    ephemeral = message.ephemeral_to is not None
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team, "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": "A0WAOPS",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": "1.2.4",
        "channel": {"id": message.channel, "name": "ops"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "text": button["text"],
                "value": button["value"],
                "action_ts": "1700000001.000001",
            }
        ],
    }
    if not ephemeral:
        payload["message"] = {
            "type": "message",
            "user": "UBOT",
            "ts": message.ts,
            "text": message.text,
            "blocks": message.blocks,
        }
    return payload


def dm_event(
    user: str,
    text: str,
    channel: str,
    files: list[dict[str, Any]] | None = None,
    *,
    team: str = TEAM,
) -> dict[str, Any]:
    """An events_api payload: someone writes to the bot in a direct message (maybe a file)."""
    event: dict[str, Any] = {
        "type": "message",
        "channel_type": "im",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": "1700000000.000009",
    }
    if files:
        event |= {"subtype": "file_share", "files": files}
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0WAOPS",
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": 1700000000,
        "event": event,
    }


class SignedSender:
    """Plays Slack posting to the adapter's HTTP endpoint, signing with the app's secret.

    With `slack` (the fake Web API) commands and presses carry response_urls it serves, as
    Slack's do; without, an unusable one.
    """

    def __init__(
        self,
        url: str,
        signing_secret: str,
        session: aiohttp.ClientSession,
        slack: FakeSlack | None = None,
    ) -> None:
        self._url = url
        self._verifier = SignatureVerifier(signing_secret)
        self._session = session
        self._slack = slack

    async def command(self, user: str, text: str, channel: str = "C1", *, team: str = TEAM) -> int:
        url = self._slack.response_url(channel, user) if self._slack else UNUSABLE_URL
        payload = slash_payload(user, text, channel, response_url=url, team=team)
        return await self.send(urlencode(payload))

    async def press(self, user: str, message: Message, action_id: str) -> int:
        slack = self._slack
        url = slack.response_url(message.channel, user, message) if slack else UNUSABLE_URL
        payload = json.dumps(press_payload(user, message, action_id, response_url=url))
        return await self.send(urlencode({"payload": payload}))

    async def event(self, payload: dict[str, Any]) -> int:
        """An Events API request (JSON)."""
        return await self.send(json.dumps(payload), content_type="application/json")

    async def send(
        self,
        body: str,
        *,
        signature: str | None = None,
        timestamp: int | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> int:
        """POST `body`, correctly signed unless told otherwise; the status."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature
            or str(self._verifier.generate_signature(timestamp=stamp, body=body)),
        }
        async with self._session.post(self._url, data=body.encode(), headers=headers) as response:
            await response.read()
            return response.status
