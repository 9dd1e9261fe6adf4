"""The Slack adapter: `/waops <command>`, buttons and direct messages in; Web API calls out.

Translation only. slack-bolt (async) verifies and routes what Slack sends, over Socket Mode when
an app token is set and otherwise over HTTP served by aiohttp (bolt's two aiohttp translation
functions around `async_dispatch`). Listeners acknowledge at once and hand the work to tasks the
adapter owns, so Slack hears back within its 3 seconds however long a command takes. The same
object is the `slack` AdminChannel for alerts and digests.

Slack user ids are unique only within a workspace, so every request must come from the app's
own: the team (and Enterprise Grid org) `auth.test` names at start, or `team_id` when pinned
(WAOPS_SLACK_TEAM_ID). Anything else (a Slack Connect channel shared with another company, a
request signed for another install) is refused, audited and never reaches a command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.base import CommandRequest
from bot.commands.dispatcher import Dispatcher
from bot.push.channel import ChannelUnavailable, Outgoing
from bot.slack.inbound import PLATFORM, SlackInbound
from bot.slack.reply import SlackReply, deliver
from bot.slack.web import SECTION_LIMIT, ChannelPacer, SlackTokenRejected, SlackWeb
from bot.texts import Language
from engine.clock import Clock
from engine.lifecycle import TwoPhase
from engine.tasks import TaskOwner

logger = logging.getLogger(__name__)

__all__ = ["SlackAdapter", "SlackTokenRejected"]


class SlackAdapter(TwoPhase):
    """Operators on Slack: one slash command, Block Kit buttons, direct messages; `slack:` chats.

    `api_url` replaces `https://slack.com/api/` (WAOPS_SLACK_API_URL). With `app_token` it uses
    Socket Mode; otherwise it serves HTTP on `http_host:http_port` at `http_path` and needs the
    `signing_secret` to verify every request. `team_id` pins the workspace (else auth.test's).
    `clock` and `sleep` drive the per-channel pacing (and `sleep` the wait for uploads).
    """

    def __init__(
        self,
        bot_token: str,
        dispatcher: Dispatcher,
        *,
        app_token: str | None = None,
        signing_secret: str | None = None,
        api_url: str | None = None,
        http_port: int | None = None,
        http_host: str = "0.0.0.0",
        http_path: str = "/slack/events",
        command: str = "/waops",
        team_id: str | None = None,
        language: Language = "es",
        min_interval_s: float = 1.0,
        request_timeout_s: float = 30.0,
        socket_ping_interval_s: float = 10.0,
        stop_grace_s: float = 10.0,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not bot_token:
            raise ValueError("Slack needs a bot token (WAOPS_SLACK_BOT_TOKEN)")
        if app_token is None and not signing_secret:
            raise ValueError("Slack HTTP mode needs WAOPS_SLACK_SIGNING_SECRET (or an app token)")
        if app_token is None and http_port is None:
            raise ValueError("Slack HTTP mode needs WAOPS_SLACK_HTTP_PORT (or an app token)")
        if not command.startswith("/"):
            raise ValueError(f"slash command {command!r} must start with /")
        self._bot_token = bot_token
        self._dispatcher = dispatcher
        self._app_token = app_token
        self._signing_secret = signing_secret or ""
        self._api_url = api_url if api_url is None or api_url.endswith("/") else f"{api_url}/"
        self._http_host, self._http_port, self._http_path = http_host, http_port, http_path
        self._command = command
        self._pinned_team = team_id
        self.team_id: str | None = None
        self.enterprise_id: str | None = None
        self._language: Language = language
        self._min_interval_s = min_interval_s
        self._request_timeout_s = request_timeout_s
        self._socket_ping_interval_s = socket_ping_interval_s
        self._stop_grace_s = stop_grace_s
        self._pacer = ChannelPacer(min_interval_s, clock=clock, sleep=sleep)
        self._sleep = sleep
        self._tasks = TaskOwner("slack")
        self._work: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._web: SlackWeb | None = None
        self._app: AsyncApp | None = None
        self._inbound: SlackInbound | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.bot_user_id: str | None = None

    @property
    def socket_mode(self) -> bool:
        return self._app_token is not None

    # lifecycle

    async def initialize(self) -> None:
        """Check the token with auth.test and build the bolt app (and the HTTP runner)."""
        if self._app is not None:
            return
        self._session = aiohttp.ClientSession()
        client = AsyncWebClient(
            token=self._bot_token,
            session=self._session,
            base_url=self._api_url or AsyncWebClient.BASE_URL,
            timeout=max(1, round(self._request_timeout_s)),
        )
        self._web = SlackWeb(client, self._pacer, sleep=self._sleep)
        try:
            identity = await self._web.auth_test()
        except BaseException:
            await self._session.close()
            self._session = self._web = None
            raise
        self.bot_user_id = str(identity.get("user_id", "")) or None
        team = str(identity.get("team_id") or "") or None
        if self._pinned_team is not None and team != self._pinned_team:
            await self._session.close()
            self._session = self._web = None
            raise SlackTokenRejected(
                f"the bot token belongs to workspace {team}, not WAOPS_SLACK_TEAM_ID "
                f"{self._pinned_team}"
            )
        self.team_id = team
        self.enterprise_id = str(identity.get("enterprise_id") or "") or None
        self._inbound = SlackInbound(
            self._dispatcher,
            self._web,
            self._spawn,
            command=self._command,
            language=self._language,
            bot_user_id=self.bot_user_id,
        )
        self._app = self._build_app(client, self._inbound)
        if not self.socket_mode:
            http = web.Application()
            http.router.add_post(self._http_path, self._on_http)
            self._runner = web.AppRunner(http, access_log=None)
            await self._runner.setup()
        logger.info("slack: signed in as %s (%s)", identity.get("user"), identity.get("team"))

    async def start(self) -> None:
        """Connect Socket Mode, or start listening for HTTP requests."""
        if self._app is None:
            raise RuntimeError("SlackAdapter.start() before initialize()")
        if self.socket_mode:
            if self._socket is None:
                self._socket = await self._connect_socket(self._app)
        elif self._site is None and self._runner is not None:
            self._site = web.TCPSite(self._runner, self._http_host, self._http_port)
            await self._site.start()

    async def stop(self) -> None:
        """Stop taking requests, let the work under way finish (cancelled after the grace)."""
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await _close_socket(socket)
        if self._site is not None:
            site, self._site = self._site, None
            await site.stop()
        await self._tasks.shutdown(self._stop_grace_s)

    async def shutdown(self) -> None:
        """Release the HTTP runner and the Web API session."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._app = self._web = self._inbound = None

    @property
    def http_url(self) -> str:
        """Where Slack should send slash commands, interactivity and events (HTTP mode)."""
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("the Slack HTTP endpoint is not listening")
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}{self._http_path}"

    def reply_for(self, channel: str) -> SlackReply:
        """The `Reply` commands get in `channel`; also for pushes that update in place."""
        if self._inbound is None:
            raise ChannelUnavailable("the Slack adapter is not initialized")
        return self._inbound.reply_for(channel)

    async def run_until_idle(self) -> None:
        """Wait until every command and button press received so far has been answered."""
        while self._work:
            await asyncio.wait(set(self._work))

    # AdminChannel

    @property
    def prefix(self) -> str:
        return PLATFORM

    @property
    def text_limit(self) -> int:
        return SECTION_LIMIT

    @property
    def min_interval_s(self) -> float:
        return self._min_interval_s

    async def deliver(self, chat: str, message: Outgoing) -> None:
        """Post `message` to channel `chat`; ChannelUnavailable/ChannelRejected on failure."""
        await deliver(self._require_web(), chat, message)

    # from Slack

    def _build_app(self, client: AsyncWebClient, inbound: SlackInbound) -> AsyncApp:
        app = AsyncApp(
            name="waops",
            client=client,
            signing_secret=self._signing_secret,
            # Listeners only ack and hand over; bolt must not spawn tasks of its own.
            process_before_response=True,
            request_verification_enabled=not self.socket_mode,
        )
        app.middleware(self._same_workspace)
        inbound.register(app)
        return app

    async def _same_workspace(
        self, context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Let through only requests from our workspace (and org); refuse and audit the rest."""
        team = context.actor_team_id or context.team_id
        enterprise = context.actor_enterprise_id or context.enterprise_id
        if team is not None and team == self.team_id and enterprise in (None, self.enterprise_id):
            await next()
            return None
        user = str(context.user_id or "?")
        detail = f"request from another Slack workspace: team {team}, enterprise {enterprise}"
        logger.warning("slack: refused %s by %s (%s)", _kind(body), user, detail)
        actor = f"{PLATFORM}:{user}@{team or '?'}"
        request = CommandRequest(
            _kind(body), (), "", actor, PLATFORM, str(context.channel_id or "")
        )
        inbound = self._inbound
        hook = str(body.get("response_url") or "")
        reply = None
        if inbound is not None and hook and context.channel_id:
            reply = inbound.reply_for(str(context.channel_id), user, hook)
        self._spawn("refusal", self._dispatcher.refuse(request, reply, detail))
        return BoltResponse(status=200, body="")

    async def _on_http(self, request: web.Request) -> web.Response:
        """bolt's aiohttp translation around `async_dispatch` (which verifies the signature)."""
        app = self._app
        if app is None:
            raise web.HTTPServiceUnavailable()
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def _connect_socket(self, app: AsyncApp) -> AsyncSocketModeHandler:
        """Socket Mode, connected; a refused app token or no connection stops start-up.

        The first URL is asked for here because the SDK's own connect retries for ever.
        """
        assert self._app_token is not None
        socket = AsyncSocketModeHandler(
            app, self._app_token, web_client=app.client, ping_interval=self._socket_ping_interval_s
        )
        try:
            socket.client.wss_uri = await self._require_web().socket_url(self._app_token)
            connect = socket.connect_async()  # type: ignore[no-untyped-call]
            await asyncio.wait_for(connect, self._request_timeout_s)
        except TimeoutError as exc:
            await _close_socket(socket)
            raise ChannelUnavailable("slack socket mode: no connection") from exc
        except BaseException:
            await _close_socket(socket)
            raise
        return socket

    def _spawn(self, kind: str, work: Coroutine[Any, Any, None]) -> None:
        task = self._tasks.spawn(f"slack:{kind}", work)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    def _require_web(self) -> SlackWeb:
        if self._web is None:
            raise ChannelUnavailable("the Slack adapter is not initialized")
        return self._web


def _kind(body: dict[str, Any]) -> str:
    """What a refused request was, for the audit log: `slack command`, `slack event`, ..."""
    if "command" in body:
        return "slack command"
    return f"slack {body.get('type') or 'request'}".replace("_", " ")


async def _close_socket(socket: AsyncSocketModeHandler) -> None:
    """Close Socket Mode and await the tasks the SDK started for it."""
    await socket.close_async()  # type: ignore[no-untyped-call]
    client = socket.client
    tasks = (client.message_processor, client.message_receiver, client.current_session_monitor)
    await asyncio.gather(*(task for task in tasks if task is not None), return_exceptions=True)
