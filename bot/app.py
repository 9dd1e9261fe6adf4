"""The composition root: builds everything from the settings and runs it in one process.

Parts start in dependency order (storage, alert outbox, sessions, listener, campaigns, operator
channels) and stop in reverse, so a shutdown lets in-flight sends finish before browsers close.
Operator channels come up under a `ChannelSupervisor`: an unreachable Telegram or Slack is
retried in the background while the engine runs. They are registered with the outbox before
any part starts, so an alert raised while the engine starts waits for its platform.
"""

from __future__ import annotations

import logging
import os
import random
from contextlib import AsyncExitStack
from typing import Literal

from pydantic import SecretStr

from bot.admin_channels import AdminChannels
from bot.commands.alerts import AlertCommands
from bot.commands.assembly import EngineCommands, EngineServices, build_registry
from bot.commands.base import Reply
from bot.commands.dispatcher import Dispatcher
from bot.commands.late_replies import LateReplies
from bot.leader import LeaderPolicy, Leadership
from bot.ops.server import Metrics, OpsServer
from bot.push.alert_rules import AlertRepeats, AlertRules
from bot.push.alerts import AlertPolicy, Alerts
from bot.push.channel import AdminChannel
from bot.push.channel_supervisor import ChannelSupervisor
from bot.push.digests import Digests, DigestSchedule
from bot.slack.adapter import SlackAdapter, SlackTokenRejected
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.updates import DocumentUpload
from bot.texts import pick_language, t
from engine.campaign.pacing import PacingPolicy
from engine.campaign.service import CampaignService
from engine.campaigns import CampaignEngine
from engine.clock import Clock, SystemClock
from engine.digests import DigestBuilder
from engine.directory import Directory
from engine.events import EventBus, WorkerLost
from engine.ia.llm import LLMClient, Transcriber
from engine.ia.openai_client import OpenAIClient
from engine.ia.transcribe import Transcriptions
from engine.inbound.ai_turns import AIReplies
from engine.inbound.conversations import AIControl, Conversations
from engine.inbound.media import MediaIntake, MediaPolicy
from engine.inbound.outbound import Outbound
from engine.inbound.receipts import ReceiptTracker
from engine.inbound.spool import InboundSpool
from engine.inbound.steps import InboundSteps
from engine.lifecycle import TwoPhase
from engine.listener import Listener, ListenerPolicy
from engine.media_store import MediaStore
from engine.media_sweep import MediaSweeps
from engine.ownership import Fleet, Ownership, OwnershipPolicy
from engine.private_files import keep_private, private_dir, private_sqlite
from engine.relay import EventFollower, EventPublisher
from engine.remote import CommandTaker, RemoteEngine
from engine.session.runner import SessionPolicy
from engine.sessions import DriverFactory, SessionManager, playwright_factory
from engine.settings import Settings, installed_version
from storage.db import Database
from storage.migrate import ensure_schema
from storage.repos import AuditRepo, SessionRepo

logger = logging.getLogger(__name__)

Role = Literal["all", "worker", "bot"]


def _idle_transaction_timeout_s(settings: Settings, role: Role) -> int | None:
    """In a split deployment, how long the server lets a transaction of this process sit idle:
    a third of its lease, so a process stopped inside one has let its row locks go before its
    lease can expire (docs/ownership.md). `waops run` has nobody to hold locks against."""
    if role == "worker":
        return max(1, int(settings.lease_ttl_s / 3))
    if role == "bot":
        return max(1, int(settings.bot_lease_ttl_s / 3))
    return None


class App(TwoPhase):
    """Everything `waops run` and `waops demo` run in one process: `start()` brings the parts
    up in dependency order, `shutdown()` takes them down in reverse (after a start that failed
    half-way too), so `async with App(settings)` is the whole lifetime."""

    def __init__(
        self,
        settings: Settings,
        *,
        llm: LLMClient | None = None,
        make_driver: DriverFactory | None = None,
        session_policy: SessionPolicy | None = None,
        listener_policy: ListenerPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        role: Role = "all",
    ) -> None:
        """`role` "worker" is `waops worker` (issue 17): the engine for the sessions whose
        lease this process holds (engine/ownership.py), no operator channels, no digests.
        `role` "bot" is `waops bot`: the operator side alone, once it holds the leader lease
        (bot/leader.py); it hears the workers' engines through the event log and acts on a
        number through the worker that owns it (engine/remote.py). The engine parts are
        built in every role, so the commands and tests find them, but a bot starts none."""
        self.settings = settings
        self.role = role
        # What this process alone writes: beside the shared profiles and media for a worker.
        self._own_dir = settings.worker_dir if role == "worker" else settings.data_dir
        self.db = Database(
            settings.database_url,
            idle_transaction_timeout_s=_idle_transaction_timeout_s(settings, role),
        )
        self.bus = EventBus()
        self.clock: Clock = clock or SystemClock()
        self._stack = AsyncExitStack()
        self.llm, self.llm_source = self._choose_llm(llm)
        language = pick_language(settings.language, default="es")

        # The engine. One content-addressed store holds every media file, in and out.
        self.media = MediaStore(settings.data_dir / "media")
        self.media_sweeps = MediaSweeps(
            self.db, self.media, self.clock, days=settings.media_retention_days
        )
        self.sessions = SessionManager(
            self.db,
            self.bus,
            make_driver or playwright_factory(settings),
            settings.data_dir,
            session_policy,
            autostart=role != "worker",
        )
        self.ownership: Ownership | None = None
        self.command_taker: CommandTaker | None = None
        if role == "worker":
            self.ownership = Ownership(
                self.db,
                OwnershipPolicy(
                    worker_id=settings.worker_name,
                    capacity=settings.worker_capacity,
                    version=installed_version(),
                    ttl_s=settings.lease_ttl_s,
                    renew_every_s=settings.lease_ttl_s / 3,
                    stop_after_s=settings.lease_ttl_s * 2 / 3,
                ),
                self.clock,
                adopt=self._adopt,
                disown=self.sessions.disown,
                on_taken_from=self._taken_from,
            )
        # What operators see of this worker's engine goes to the event log for `waops bot`.
        self.events: EventPublisher | None = None
        if role == "worker":
            self.events = EventPublisher(self.db, self.bus, settings.worker_name, clock=self.clock)
        # In a bot: the engine's operations run by the workers, its events read from the log.
        self.remote: RemoteEngine | None = None
        self.leadership: Leadership | None = None
        self.follower: EventFollower | None = None
        if role == "bot":
            self.remote = RemoteEngine(self.db, self.bus, clock=self.clock)
            ttl = settings.bot_lease_ttl_s
            self.leadership = Leadership(
                self.db,
                LeaderPolicy(settings.worker_name, ttl, ttl / 3, ttl * 2 / 3),
                clock=self.clock,
            )
        self.receipts = ReceiptTracker(self.db, self.bus)
        self.pacing = PacingPolicy.from_settings(settings)
        self.campaign_engine = CampaignEngine(
            self.db,
            self.bus,
            self.sessions,
            self.pacing,
            clock=self.clock,
            rng=rng,
            media=self.media,
            media_timeout_s=settings.media_send_timeout_s,
            fence=None if self.ownership is None else self.ownership.lease_of,
        )
        self.campaigns = CampaignService(
            self.db, self.remote or self.campaign_engine, self.pacing, rng, media=self.media
        )
        self.conversations = Conversations(
            self.db,
            self.remote or self.sessions,
            self.bus,
            media=self.media,
            media_timeout_s=settings.media_send_timeout_s,
        )
        self.ai = AIControl(self.db)
        self._listener_policy = listener_policy or ListenerPolicy(language=settings.language)
        self.listener: Listener | None = None

        # Alerts and digests, delivered through the outbox to whichever channels start.
        self.admin_channels = AdminChannels(self.db, clock=self.clock)
        self.alerts = Alerts(
            self.db,
            self.admin_channels,
            AlertPolicy(grace_s=settings.alert_grace_s, language=language),
            self.clock,
        )
        self.alert_rules = AlertRules(self.db, self.bus, self.alerts, self.clock)
        self.alert_repeats = AlertRepeats(self.alerts, self.clock)
        builder = DigestBuilder(
            self.db, self.llm, model=settings.openai_model, language=language, clock=self.clock
        )
        self.digests = Digests(
            self.db,
            self.admin_channels,
            builder,
            self.clock,
            language=language,
            default_schedule=DigestSchedule.from_setting(settings.digest_schedule),
        )

        # The operator side.
        self.metrics = Metrics(self.bus)
        self.admin_channels.on_outcome = lambda outcome: self.metrics.alert_deliveries.labels(
            outcome
        ).inc()
        self.directory = Directory(self.db)
        self.audit = AuditRepo(self.db)
        alert_commands = AlertCommands(
            self.db, self.admin_channels, self.alerts, self.digests, clock=self.clock
        )
        registry = build_registry(self.directory, self.audit, on_start=alert_commands.on_start)
        self.engine_commands = EngineCommands(
            self.directory,
            EngineServices(
                self.db,
                self.bus,
                self.remote or self.sessions,
                self.campaigns,
                self.conversations,
                self.ai,
                Fleet(self.db, ttl_s=settings.lease_ttl_s, clock=self.clock)
                if role == "bot"
                else None,
            ),
        )
        registry.extend(self.engine_commands.commands())
        registry.extend(alert_commands.commands())
        self.late_replies = LateReplies()
        self.dispatcher = Dispatcher(
            registry,
            self.directory.operators,
            self.audit,
            default_language=settings.language,
            late_replies=self.late_replies,
            clock=self.clock,
        )
        self.telegram: TelegramAdapter | None = None
        self.slack: SlackAdapter | None = None
        self.channels: list[ChannelSupervisor] = []
        self._channels_started = 0
        self.ops: OpsServer | None = None

    def _choose_llm(self, given: LLMClient | None) -> tuple[LLMClient | None, str]:
        if given is not None:
            return given, "given"
        key, base_url = self.settings.openai_api_key, self.settings.openai_base_url
        if key is None and base_url is None:
            logger.warning("no WAOPS_OPENAI_API_KEY or WAOPS_OPENAI_BASE_URL: AI replies are off")
            return None, "none"
        client = OpenAIClient(
            api_key=key.get_secret_value() if key else "unused", base_url=base_url
        )
        self._stack.push_async_callback(client.aclose)
        return client, base_url or "OpenAI"

    def _media_intake(self) -> MediaIntake:
        """Downloads of inbound media into the store, and transcripts of voice notes when the
        model client can transcribe (the OpenAI one can; the demo's canned model cannot)."""
        settings = self.settings
        transcriber = self.llm if isinstance(self.llm, Transcriber) else None
        transcriptions = Transcriptions(
            self.db,
            transcriber if settings.transcription_on else None,
            model=settings.transcribe_model,
            clock=self.clock,
        )
        policy = MediaPolicy(
            max_bytes=settings.media_max_bytes, attempts=settings.media_download_attempts
        )
        return MediaIntake(
            self.db, self.sessions, self.media, policy=policy, transcriptions=transcriptions
        )

    def add_admin_channel(self, channel: AdminChannel) -> None:
        """Let alerts and digests reach chats of another platform (the demo's console)."""
        self.admin_channels.register(channel)

    async def start(self) -> None:
        # The data folder holds logged-in WhatsApp profiles, contacts' messages and (SQLite)
        # the database: for this user alone, also where an older version left them open.
        self._stack.callback(os.umask, keep_private())
        private_dir(self.settings.data_dir)
        private_sqlite(self.settings.database_url)
        await ensure_schema(self.db)
        self._stack.push_async_callback(self.db.shutdown)
        if self.leadership is not None:
            # A standby answers /healthz while it waits here until the active bot's lease is
            # free; given up last.
            await self._start_ops()
            await self.leadership.start()
            self._stack.push_async_callback(self.leadership.stop)
        # Repeat counts of strangers' open windows reach the audit log before the database goes.
        self._stack.push_async_callback(self.dispatcher.strangers.flush)
        if self.role != "worker":
            self._register_channels()
        await self.admin_channels.start()
        self._stack.push_async_callback(self.admin_channels.stop)
        # What hears engine events subscribes before the sessions start, so their first states
        # count, and unsubscribes after they stopped.
        if self.events is not None:
            await self.events.start()
            self._stack.push_async_callback(self.events.stop)
        if self.role != "worker":
            # In a worker nobody would hear them: the bot raises alerts on the events it follows.
            await self.alert_rules.start()
            self._stack.push_async_callback(self.alert_rules.stop)
            await self.alert_repeats.start()
            self._stack.push_async_callback(self.alert_repeats.stop)
        await self.metrics.start()
        self._stack.push_async_callback(self.metrics.stop)
        await self.engine_commands.start()
        self._stack.push_async_callback(self.engine_commands.stop)
        if self.role == "bot":
            await self._start_operator_side()
            logger.info("waops bot started")
            return
        await self.receipts.start()
        self._stack.push_async_callback(self.receipts.stop)
        outbound = Outbound(self.db, self.sessions, self.bus)
        ai_replies = AIReplies(
            self.db,
            self.bus,
            outbound,
            self.llm,
            self.settings.openai_model,
            self._listener_policy.typing_scale,
            self._listener_policy.reply_timeout_s,
            self.clock,
            media=self.media,
            accepts_images=self.settings.accepts_images,
        )
        steps = InboundSteps(
            self.db,
            self.bus,
            outbound,
            ai_replies,
            self.llm,
            self.settings.openai_model,
            language=self._listener_policy.language,
            classify_timeout_s=self._listener_policy.classify_timeout_s,
            clock=self.clock,
            media=self._media_intake(),
        )
        self.listener = Listener(
            self.bus,
            steps,
            ai_replies,
            spool=InboundSpool(self._own_dir / "inbound.spool"),
            policy=self._listener_policy,
        )
        # The listener hears before any page can speak (a message, a catch-up after a crash),
        # and stops before the sessions, so replies in flight still have their browser.
        await self.listener.start()
        try:
            await self.sessions.start()
        except BaseException:
            await self.listener.stop()
            raise
        self._stack.push_async_callback(self.sessions.stop)
        self._stack.push_async_callback(self.listener.stop)
        if self.ownership is not None:
            # Stopped after the campaigns (their sends in flight finish first), then its
            # sessions stop and their leases go, so another worker takes them at once.
            await self.ownership.start()
            self._stack.push_async_callback(self.ownership.stop)
        await self.campaign_engine.start()
        self._stack.push_async_callback(self.campaign_engine.stop)
        if self.ownership is not None:
            # What the bot asks of this worker's numbers; stopped first, its sends answered.
            ownership = self.ownership
            self.command_taker = CommandTaker(
                self.db,
                ownership.policy.worker_id,
                lambda: [s for s in ownership.held if ownership.lease_of(s) is not None],
                self.sessions,
                self.campaign_engine,
                self.bus,
                self.media,
                clock=self.clock,
            )
            await self.command_taker.start()
            self._stack.push_async_callback(self.command_taker.stop)
        if self.role != "worker":
            await self.digests.start()
            self._stack.push_async_callback(self.digests.stop)
        await self.media_sweeps.start()
        self._stack.push_async_callback(self.media_sweeps.stop)
        for session in await self.sessions.list():
            self.metrics.session_states.setdefault(session.id, session.state)
        await self._start_channels()
        logger.info("waops started")

    async def _start_operator_side(self) -> None:
        """A bot's rest: the commands' remote engine, the event log followed from where the
        previous active bot left it, digests, and the channels."""
        assert self.remote is not None and self.leadership is not None
        leadership = self.leadership
        lease = leadership.lease
        await self.remote.start()
        self._stack.push_async_callback(self.remote.stop)
        # A drop the previous active bot heard but had not alerted yet is not in the log after
        # its cursor: the alert rules start from the stored states, then hear the events.
        await self.alert_rules.resume(await SessionRepo(self.db).list())
        self.follower = EventFollower(
            self.db,
            self.bus,
            clock=self.clock,
            cursor=None if lease is None else lease.cursor,
            on_advance=leadership.save_cursor,
        )
        await self.follower.start()
        self._stack.push_async_callback(self.follower.stop)
        await self.digests.start()
        self._stack.push_async_callback(self.digests.stop)
        await self._start_channels()

    async def _taken_from(self, lost: str, session_ids: list[int]) -> None:
        """Sessions taken from a worker that died or stalled: operators hear of it (through
        the event log, from the bot's alert rules)."""
        assert self.ownership is not None
        repo = SessionRepo(self.db)
        names = [(await repo.get_by_id(session_id)).key for session_id in session_ids]
        await self.bus.publish(WorkerLost(lost, self.ownership.policy.worker_id, tuple(names)))

    async def _adopt(self, session_id: int) -> None:
        """A session this worker took over: its previous owner's cut-off sends become
        `unknown`, then its browser starts here."""
        await self.campaign_engine.recover(session_id)
        await self.sessions.adopt(session_id)

    def _register_channels(self) -> None:
        """Build the configured operator channels and register them with the outbox before
        anything can raise an alert: what the engine raises while it starts (sends a crash cut
        off) waits there for its platform, also one still being retried, instead of reaching
        nobody. Nothing is reached yet: the supervisors start last, in `_start_channels()`."""
        settings = self.settings
        if settings.telegram_token is not None:
            self.telegram = TelegramAdapter(
                settings.telegram_token.get_secret_value(),
                self.dispatcher,
                base_url=settings.telegram_api_url,
                base_file_url=settings.telegram_file_url,
                language=settings.language,
                on_document=self._on_document,
            )
            telegram = self.telegram
            self._add_channel("telegram", telegram, telegram)
            # Polling knows first when Telegram fails and when it answers again: the outbox
            # holds while it is down and resumes at once instead of at its next retry.
            telegram.on_reachability = lambda up: self.admin_channels.set_ready(telegram.prefix, up)
        if settings.slack_bot_token is not None:
            self.slack = SlackAdapter(
                settings.slack_bot_token.get_secret_value(),
                self.dispatcher,
                app_token=_secret(settings.slack_app_token),
                signing_secret=_secret(settings.slack_signing_secret),
                api_url=settings.slack_api_url,
                http_port=settings.slack_http_port,
                team_id=settings.slack_team_id,
                language=settings.language,
            )
            self._add_channel("slack", self.slack, self.slack)
        # A start that fails before the supervisors run still releases their adapters.
        self._stack.push_async_callback(self._release_unstarted_channels)

    def _add_channel(
        self, name: str, adapter: TelegramAdapter | SlackAdapter, channel: AdminChannel
    ) -> None:
        """Register `channel` as not ready; its supervisor marks it ready once it is up."""
        self.admin_channels.register(channel, ready=False)
        self.channels.append(
            ChannelSupervisor(
                name,
                adapter,
                on_up=lambda: self.admin_channels.set_ready(channel.prefix),
                fatal=(SlackTokenRejected,),
            )
        )

    async def _release_unstarted_channels(self) -> None:
        for supervisor in self.channels[self._channels_started :]:
            await supervisor.adapter.shutdown()

    async def _start_ops(self) -> None:
        settings = self.settings
        if not settings.health_port or self.ops is not None:
            return
        leadership = self.leadership
        self.ops = OpsServer(
            self.db,
            self.metrics,
            host=settings.health_host,
            port=settings.health_port,
            channels=self.channel_status,
            leader=None if leadership is None else lambda: leadership.state,
        )
        await self.ops.start()
        self._stack.push_async_callback(self.ops.stop)

    async def _start_channels(self) -> None:
        await self._start_ops()
        # Each brought up now or in the background; its alerts wait until it is up.
        for supervisor in self.channels:
            self._channels_started += 1
            self._stack.push_async_callback(supervisor.stop)
            await supervisor.start()
        # Stopped before the channels, so what is queued still has a way out.
        self._stack.push_async_callback(self.late_replies.stop)

    def channel_status(self) -> dict[str, dict[str, object]]:
        """Each operator channel's state, for `/healthz`."""
        return {supervisor.name: supervisor.status.as_json() for supervisor in self.channels}

    async def shutdown(self) -> None:
        """Stop and release what `start()` brought up, in reverse; the parts are on one stack,
        so there is nothing for `stop()` of its own."""
        await self._stack.aclose()
        logger.info("waops stopped")

    def summary(self) -> list[str]:
        """What is configured and what is missing, for the start-up banner."""
        s = self.settings
        url = self.db.redacted_url
        host = s.health_host
        ops = f"http://{host}:{self.ops.port}/healthz and /metrics" if self.ops else "off"
        ai = self.llm_source if self.llm is not None else "off (set WAOPS_OPENAI_API_KEY)"
        states = {supervisor.name: supervisor.status.state.value for supervisor in self.channels}
        telegram = f"on, {states.get('telegram')}" if self.telegram else None
        slack = f"{_slack_mode(s)}, {states.get('slack')}" if self.slack else None
        lines = [f"database: {url}"]
        if self.role != "bot":  # a bot opens no WhatsApp and asks no model
            lines += [f"WhatsApp: {s.whatsapp_url} (WA-JS {s.wa_js_path})", f"AI model: {ai}"]
        if self.leadership is not None and self.leadership.lease is not None:
            lease = self.leadership.lease
            lines.append(f"bot: the active one ({lease.holder}, epoch {lease.epoch})")
        if self.ownership is None:
            lines.append("Telegram: " + (telegram or "off (set WAOPS_TELEGRAM_TOKEN)"))
            lines.append("Slack: " + (slack or "off (set WAOPS_SLACK_BOT_TOKEN)"))
        else:
            policy = self.ownership.policy
            lines.append("operator channels: none in a worker")
            lines.append(
                f"worker: {policy.worker_id}, up to {policy.capacity} sessions,"
                f" holding {len(self.ownership.held)}"
            )
        return [*lines, f"health: {ops}"]

    async def _on_document(self, upload: DocumentUpload, reply: Reply) -> None:
        """A file sent in chat with no command as its caption: operators are told how (the
        adapter sends a file whose caption is a command to the dispatcher itself)."""
        operator = await self.directory.operators.find(upload.actor)
        if operator is not None:
            lang = pick_language(operator.language, default=self.settings.language)
            command = f"{reply.command_prefix}import"
            await reply.text(t(lang, "import.caption_hint", command=command))


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def _slack_mode(settings: Settings) -> str:
    if settings.slack_app_token is not None:
        return "on (Socket Mode)"
    return f"on (HTTP mode on port {settings.slack_http_port})"
