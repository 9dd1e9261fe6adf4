"""What Slack sends, as commands: the slash command, button presses and direct messages.

Each bolt listener acknowledges at once and hands the work to `spawn`, so Slack hears back
within its 3 seconds however long the command takes; the work then goes to the dispatcher.
Answers go to the person who asked (`SlackReply`), through the response_url Slack gave.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot.commands.base import AttachmentFetch, CommandError, file_too_big
from bot.commands.confirmations import ConfirmOutcome
from bot.commands.dispatcher import Dispatcher
from bot.commands.parsing import parse_request
from bot.push.channel import ChannelRejected, ChannelUnavailable
from bot.slack.reply import PromptTexts, ResponseUrl, SlackReply
from bot.slack.web import (
    CANCEL_ACTION,
    CONFIRM_ACTION,
    RUN_ACTION_RE,
    Block,
    SlackWeb,
    escape,
    settled_blocks,
    text_blocks,
    unescape,
)
from bot.texts import Language, t

logger = logging.getLogger(__name__)

PLATFORM = "slack"
Spawn = Callable[[str, Coroutine[Any, Any, None]], None]

_USER_ID_RE = re.compile(r"^[A-Z0-9]+$")
# Outcomes after which the buttons go: the proposal ran, was dropped, or can never run.
# Someone else's press (not_yours, denied) leaves them for the proposer.
_SETTLED_KEYS = {
    ConfirmOutcome.DONE: "slack.settled.done",
    ConfirmOutcome.CANCELLED: "slack.settled.cancelled",
    ConfirmOutcome.FAILED: "slack.settled.failed",
    ConfirmOutcome.EXPIRED: "slack.settled.expired",
    ConfirmOutcome.UNKNOWN: "slack.settled.unknown",
}


@dataclass(frozen=True)
class Press:
    """A button press, as far as waops cares: who, where, the button's value, its message."""

    user: str
    channel: str
    value: str
    message_ts: str
    message_text: str
    message_blocks: list[Block]
    response_url: str = ""
    ephemeral: bool = False


def read_press(args: AsyncArgs) -> Press | None:
    """The press in a block_actions payload. On an ephemeral message there may be no `message`:
    the container still names its channel and ts."""
    body, action = args.body, args.action or {}
    container = body.get("container") or {}
    message = body.get("message") or {}
    user = str((body.get("user") or {}).get("id", ""))
    channel = str((body.get("channel") or {}).get("id", "") or container.get("channel_id", ""))
    if not user or not channel or "value" not in action:
        logger.warning("slack button press without user, channel or value: ignored")
        return None
    blocks = message.get("blocks")
    return Press(
        user=user,
        channel=channel,
        value=str(action["value"]),
        message_ts=str(message.get("ts") or container.get("message_ts", "")),
        message_text=str(message.get("text", "")),
        message_blocks=list(blocks) if isinstance(blocks, list) else [],
        response_url=str(body.get("response_url") or ""),
        ephemeral=bool(container.get("is_ephemeral")),
    )


class SlackInbound:
    """Registers the listeners on a bolt app and turns what they hear into dispatcher calls."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        web: SlackWeb,
        spawn: Spawn,
        *,
        command: str,
        language: Language,
        bot_user_id: str | None,
    ) -> None:
        self._dispatcher = dispatcher
        self._web = web
        self._spawn = spawn
        self._command = command
        self._language: Language = language
        self._bot_user_id = bot_user_id
        self._prompts = PromptTexts()

    def register(self, app: AsyncApp) -> None:
        app.command(self._command)(self._on_command)
        app.action(CONFIRM_ACTION)(self._on_confirm)
        app.action(CANCEL_ACTION)(self._on_cancel)
        app.action(RUN_ACTION_RE)(self._on_run_button)
        app.event("message")(self._on_message)

    def reply_for(
        self, channel: str, user: str | None = None, response_url: str = ""
    ) -> SlackReply:
        """How to answer `user` for something they did in `channel` (None: post in it)."""
        hook = ResponseUrl(response_url, time.monotonic()) if response_url else None
        return SlackReply(
            self._web,
            channel,
            f"{self._command} ",
            user=user,
            response_url=hook,
            language=self._language,
            prompts=self._prompts,
        )

    # listeners: bolt passes one `args`; they only ack and hand over

    async def _on_command(self, args: AsyncArgs) -> None:
        await args.ack()
        command = args.command or {}
        user, channel = str(command.get("user_id", "")), str(command.get("channel_id", ""))
        if user and channel:
            text, hook = str(command.get("text", "")), str(command.get("response_url") or "")
            self._spawn("command", self._run_text(text, user, channel, response_url=hook))

    async def _on_message(self, args: AsyncArgs) -> None:
        """A direct message to the bot is a command too (`sessions haby`, no slash needed);
        a file shared there comes with its caption as the command (`import haby`)."""
        event = args.event or {}
        if event.get("channel_type") != "im" or event.get("bot_id"):
            return
        if event.get("subtype") not in (None, "file_share"):
            return
        user, channel = str(event.get("user", "")), str(event.get("channel", ""))
        files = event.get("files") or [None]
        if user and channel and user != self._bot_user_id:
            work = self._run_text(str(event.get("text", "")), user, channel, shared=files[0])
            self._spawn("message", work)

    async def _on_confirm(self, args: AsyncArgs) -> None:
        await args.ack()
        if (press := read_press(args)) is not None:
            self._spawn("confirm", self._resolve(press, run=True))

    async def _on_cancel(self, args: AsyncArgs) -> None:
        await args.ack()
        if (press := read_press(args)) is not None:
            self._spawn("cancel", self._resolve(press, run=False))

    async def _on_run_button(self, args: AsyncArgs) -> None:
        """A button on a pushed message: its command runs as whoever pressed it."""
        await args.ack()
        if (press := read_press(args)) is not None:
            work = self._run_text(
                press.value, press.user, press.channel, response_url=press.response_url
            )
            self._spawn("button", work)

    # the work, after the ack

    async def _run_text(
        self,
        text: str,
        user: str,
        channel: str,
        *,
        shared: dict[str, Any] | None = None,
        response_url: str = "",
    ) -> None:
        actor = f"{PLATFORM}:{user}"
        text = _without_slash_command(text, self._command)
        request = parse_request(text, actor=actor, platform=PLATFORM, channel=channel)
        if request is None:  # `/waops` alone: what can I do here?
            request = parse_request("help", actor=actor, platform=PLATFORM, channel=channel)
        assert request is not None
        reply = self.reply_for(channel, user, response_url)
        if shared is not None and shared.get("url_private_download"):
            name = str(shared.get("name") or "file")
            fetch = self._fetch(shared, actor)
            # The file object's `mimetype` (docs.slack.dev/reference/objects/file-object).
            mimetype = shared.get("mimetype")
            request = replace(
                request,
                attachment_name=name,
                attachment_mimetype=str(mimetype) if mimetype else None,
                fetch_attachment=fetch,
            )
        await self._dispatcher.dispatch(request, reply)

    def _fetch(self, shared: dict[str, Any], actor: str) -> AttachmentFetch:
        """The download of a shared file, for the dispatcher to call once it has authorised."""
        url = str(shared["url_private_download"])
        size = shared.get("size")
        declared = size if isinstance(size, int) else 0

        async def fetch(limit_bytes: int) -> bytes:
            # Slack's file object says its size: an over-large file is never downloaded.
            if declared > limit_bytes:
                raise file_too_big(limit_bytes)
            try:
                data = await self._web.download(url, limit_bytes)
            except (ChannelUnavailable, ChannelRejected) as exc:
                logger.warning("slack: could not download a file from %s: %s", actor, exc)
                raise CommandError("slack.download_failed") from exc
            if len(data) > limit_bytes:  # the download stops one byte past the limit
                raise file_too_big(limit_bytes)
            return data

        return fetch

    async def _resolve(self, press: Press, *, run: bool) -> None:
        """Confirm or cancel a proposal; once it is settled, its buttons make way for a note."""
        button = self._dispatcher.confirm if run else self._dispatcher.cancel
        actor = f"{PLATFORM}:{press.user}"
        reply = self.reply_for(press.channel, press.user, press.response_url)
        outcome = await button(press.value, actor=actor, platform=PLATFORM, reply=reply)
        key = _SETTLED_KEYS.get(outcome)
        if key is None or not press.message_ts:
            return
        mention = f"<@{press.user}>" if _USER_ID_RE.match(press.user) else escape(press.user)
        note = t(self._language, key, user=mention)
        try:
            if press.ephemeral:
                # Only its response_url can change an ephemeral message (chat.update cannot).
                text = self._prompts.get(press.value) or note
                blocks = settled_blocks(text_blocks(text), note)
                if reply.response_url is not None:
                    await reply.settle(reply.response_url, text, blocks)
                return
            blocks = settled_blocks(press.message_blocks, note)
            text = unescape(press.message_text) or note
            await self._web.update(press.channel, press.message_ts, text, blocks)
        except (ChannelUnavailable, ChannelRejected) as exc:
            logger.warning("slack: could not remove the buttons of %s: %s", press.message_ts, exc)


def _without_slash_command(text: str, command: str) -> str:
    """A caption written as `/waops import haby` means `import haby`."""
    head, _, rest = text.strip().partition(" ")
    return rest if head.lower() == command.lower() else text
