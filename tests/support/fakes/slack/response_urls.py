"""The response_urls of the fake Slack: the ones it puts in slash commands and button presses,
and what a POST to one does (an ephemeral or `in_channel` answer, or an edit of the original)."""

from __future__ import annotations

from aiohttp import web

from tests.support.fakes.slack.records import (
    RESPONSE_URL_TTL_S,
    RESPONSE_URL_USES,
    Call,
    Hook,
    Message,
    Refused,
)
from tests.support.fakes.slack.workspace import Workspace


class ResponseUrls:
    """The response_urls given out, each bound to a channel, a user and a use limit."""

    def __init__(self, workspace: Workspace, calls: list[Call], unexpected: list[str]) -> None:
        self._workspace = workspace
        self._calls = calls
        self._unexpected = unexpected
        self._hooks: dict[str, Hook] = {}

    def create(self, channel: str, user: str, original: Message | None = None) -> str:
        """A response_url as Slack puts in a slash command (or, with `original`, a press)."""
        hook_id = f"{self._workspace.next_id()}"
        self._hooks[hook_id] = Hook(channel, user, self._workspace.clock(), original)
        return f"{self._workspace.base_url()}/commands/{self._workspace.team_id}/{hook_id}/secret"

    async def respond(self, request: web.Request) -> web.Response:
        """A POST to a response_url: an ephemeral answer (default) or `in_channel`, or with
        `replace_original` an edit of the message whose button was pressed."""
        hook = self._hooks.get(request.match_info["hook"])
        body = await request.json()
        self._calls.append(Call("response_url", dict(body)))
        if hook is None or request.match_info["team"] != self._workspace.team_id:
            self._unexpected.append(f"POST {request.path}: not a response_url we gave")
            return web.json_response({"ok": False, "error": "invalid_url"}, status=404)
        if (
            hook.uses >= RESPONSE_URL_USES
            or self._workspace.clock() - hook.created_s > RESPONSE_URL_TTL_S
        ):
            # Slack documents the limit, not the exact refusal; waops falls back either way.
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        try:
            self._workspace.rules.check_text(body.get("text"), body.get("blocks", []))
        except Refused as exc:
            self._unexpected.append(f"response_url: {exc.error}")
            return web.json_response({"ok": False, "error": exc.error}, status=400)
        hook.uses += 1
        blocks = list(body.get("blocks", []))
        if body.get("replace_original") and hook.original is not None:
            original = hook.original
            original.history.append((original.text, original.blocks))
            original.text, original.blocks = body["text"], blocks
            return web.json_response({"ok": True})
        visible = None if body.get("response_type") == "in_channel" else hook.user
        self._workspace.messages.append(
            Message(hook.channel, self._workspace.next_ts(), body["text"], blocks, [], visible)
        )
        return web.json_response({"ok": True})
