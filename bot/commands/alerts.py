"""Alerts and digests: /alerts (list, mute, unmute, subscribe, unsubscribe), /digest, /forward.

`/alerts` is one command whose first argument picks the action, because the registry does not
allow a command and subcommands under one name; the client is always the second argument, so
the dispatcher checks the caller's scope for every action.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.admin_channels import AdminChannels
from bot.commands.base import Command, CommandContext, CommandError, Proposal, usage_line
from bot.push.alerts import AlertKind, Alerts, alert_text
from bot.push.channel import Outgoing, split_chat
from bot.push.digests import Digests, conversation_text, digest_chart, digest_text, file_key
from engine.clock import Clock, SystemClock
from engine.ia.summaries import Withheld
from storage.db import Database
from storage.records import Client, Notice, Role
from storage.repos import ClientRepo
from storage.repos.alert_subscriptions import ALL_KINDS, MUTE, AlertSubscriptionRepo

MAX_MUTE_MIN = 7 * 24 * 60
MAX_DIGEST_H = 24 * 31
FORWARD_MESSAGES = 30
_ACTIONS = ("mute", "unmute", "subscribe", "unsubscribe")


class AlertCommands:
    """Commands over alerts, subscriptions and digests; `on_start` marks a chat reachable."""

    def __init__(
        self,
        db: Database,
        router: AdminChannels,
        alerts: Alerts,
        digests: Digests,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._clients = ClientRepo(db)
        self._subscriptions = AlertSubscriptionRepo(db)
        self._router = router
        self._alerts = alerts
        self._digests = digests
        self._clock = clock or SystemClock()

    def commands(self) -> list[Command]:
        viewer = Role.VIEWER
        return [
            Command("alerts", self.alerts, role=viewer, client_arg=1, max_args=3),
            Command(
                "digest",
                self.digest,
                role=viewer,
                client_arg=0,
                min_args=1,
                max_args=2,
                private_output=True,
            ),
            Command(
                "forward",
                self.forward,
                role=viewer,
                client_arg=0,
                min_args=2,
                private_output=True,
            ),
        ]

    async def on_start(self, ctx: CommandContext) -> None:
        """The /start hook: in a private Telegram chat the bot may now write first."""
        actor = ctx.operator.platform_id
        prefix, user = split_chat(actor)
        if prefix in self._router.needs_start and ctx.request.channel in (user, actor):
            await self._subscriptions.set_reachable(actor)
            await ctx.say("alerts.reachable_now")

    async def alerts(self, ctx: CommandContext) -> Proposal | None:
        if not ctx.args:
            await self._list(ctx)
            return None
        action = ctx.args[0].lower()
        usage = usage_line(self.commands()[0], ctx.lang, ctx.reply.command_prefix)
        if action not in _ACTIONS:
            raise CommandError("alerts.bad_sub", value=ctx.args[0], usage=usage)
        if len(ctx.args) < 2 or (action == "mute" and len(ctx.args) < 3):
            raise CommandError("error.usage", usage=usage)
        client = await self._clients.get(ctx.args[1])
        chat = ctx.operator.platform_id
        if action in ("mute", "unmute"):
            minutes = _minutes(ctx.args[2]) if action == "mute" else 0
            until = self._clock.now() + timedelta(minutes=minutes) if minutes else None
            await self._subscriptions.mute(chat, client.id, until)
            if until is None:
                await ctx.say("alerts.unmuted", client=client.slug)
            else:
                await ctx.say("alerts.muted", client=client.slug, until=f"{until:%d/%m %H:%M}")
            return None
        kind = _kind(ctx.args[2]) if len(ctx.args) > 2 else ALL_KINDS
        shown = ctx.t("alerts.every_kind") if kind == ALL_KINDS else kind
        if action == "subscribe":
            if ctx.operator.role in (Role.OWNER, Role.ADMIN):
                mute = ctx.command_text(f"alerts mute {client.slug} 60")
                role = ctx.operator.role.value
                await ctx.say("alerts.gets_all", role=role, client=client.slug, mute=mute)
                return None
            await self._subscriptions.subscribe(chat, client.id, kind, operator_id=ctx.operator.id)
            await ctx.say("alerts.subscribed", kind=shown, client=client.slug)
            await self._reachability_hint(ctx)
        elif await self._subscriptions.unsubscribe(chat, client.id, kind):
            await ctx.say("alerts.unsubscribed", kind=shown, client=client.slug)
        else:
            await ctx.say("alerts.not_subscribed", kind=shown, client=client.slug)
        return None

    async def _list(self, ctx: CommandContext) -> None:
        visible = [c for c in await self._clients.list() if ctx.operator.may_see(c.slug)]
        firing = await self._alerts.repo.firing([c.id for c in visible])
        lines = [ctx.t("alerts.header", count=len(firing))] if firing else [ctx.t("alerts.none")]
        for alert in firing:
            text = alert_text(alert, Notice.NEW, ctx.lang).removeprefix("⚠️ ")
            since = f"{alert.first_at:%d/%m %H:%M} UTC"
            lines.append(
                f"• {text} ({ctx.t('alerts.since', since=since, count=alert.occurrences)})"
            )
        now = self._clock.now()
        names = {c.id: c.slug for c in visible}
        muted = [
            names.get(client_id, "*") if client_id is not None else "*"
            for client_id, kind, until in await self._subscriptions.of_chat(
                ctx.operator.platform_id
            )
            if kind == MUTE and until is not None and until > now
        ]
        if muted:
            lines.append(ctx.t("alerts.muted_line", clients=", ".join(sorted(muted))))
        await ctx.send("\n".join(lines), filename="alerts.txt")
        await self._reachability_hint(ctx)

    async def _reachability_hint(self, ctx: CommandContext) -> None:
        actor = ctx.operator.platform_id
        if split_chat(actor)[0] in self._router.needs_start and not (
            await self._subscriptions.is_reachable(actor)
        ):
            await ctx.say("alerts.unreachable", start=ctx.command_text("start"))

    async def digest(self, ctx: CommandContext) -> Proposal | None:
        hours = _hours(ctx.args[1]) if len(ctx.args) > 1 else 24
        end = self._clock.now()
        data = await self._digests.builder.build(
            ctx.args[0], end - timedelta(hours=hours), end, on_demand=True
        )
        await ctx.reply.image(digest_chart(data), ctx.t("digest.chart"))
        await ctx.send(digest_text(data, ctx.lang), filename=f"digest-{ctx.args[0]}.txt")
        await _summary_note(
            ctx,
            data.client,
            data.summaries_withheld,
            data.summaries_retry_at,
            self._digests.builder.summary_interval_s,
        )
        return None

    async def forward(self, ctx: CommandContext) -> Proposal | None:
        builder = self._digests.builder
        phone = ctx.request.rest(1)  # `+54 9 11 1234-5678` arrives as several words
        client, contact, messages = await builder.conversation(ctx.args[0], phone, FORWARD_MESSAGES)
        who = contact.label
        if not messages:
            await ctx.say("forward.empty", contact=who)
            return None
        summary = await builder.summarize(client, messages)
        text = conversation_text(client, contact, messages, ctx.lang, summary.text)
        sent = await self._router.send(
            ctx.operator.platform_id,
            Outgoing(text),
            file_caption=ctx.t("output.as_file"),
            file_name=f"chat-{file_key(contact.label)}.txt",
        )
        if sent:
            await ctx.say("forward.sent", contact=who)
        else:  # no admin channel for the caller's platform: answer here
            await ctx.send(text, filename=f"chat-{file_key(contact.label)}.txt")
        await _summary_note(
            ctx, client, summary.withheld, summary.retry_at, builder.summary_interval_s
        )
        return None


async def _summary_note(
    ctx: CommandContext,
    client: Client,
    withheld: Withheld | None,
    retry_at: datetime | None,
    interval_s: float,
) -> None:
    """Say why a summary is missing: a repeat within the rate limit, or the budget spent."""
    if withheld is Withheld.RATE_LIMITED and retry_at is not None:
        minutes = max(1, round(interval_s / 60))
        at = f"{retry_at.astimezone(ZoneInfo(client.timezone)):%H:%M}"
        await ctx.say("ai.summary_rate_limited", client=client.slug, minutes=minutes, at=at)
    elif withheld is Withheld.BUDGET_SPENT:
        await ctx.say("ai.summary_budget_spent", client=client.slug, zone=client.timezone)


def _minutes(value: str) -> int:
    try:
        minutes = int(value)
    except ValueError:
        minutes = -1
    if not 0 <= minutes <= MAX_MUTE_MIN:
        raise CommandError("alerts.bad_minutes", value=value, max=MAX_MUTE_MIN)
    return minutes


def _hours(value: str) -> int:
    try:
        hours = int(value)
    except ValueError:
        hours = 0
    if not 1 <= hours <= MAX_DIGEST_H:
        raise CommandError("digest.bad_hours", value=value, max=MAX_DIGEST_H)
    return hours


def _kind(value: str) -> str:
    kinds = [k.value for k in AlertKind]
    if value == ALL_KINDS or value.lower() in kinds:
        return value.lower()
    raise CommandError("alerts.bad_kind", value=value, kinds=", ".join(kinds))
