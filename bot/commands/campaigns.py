"""Campaigns: /campaigns, /campaign new|preview|launch|pause|resume|cancel|status|report, and
attach|detach (bot/commands/campaign_files.py)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.commands.base import (
    Command,
    CommandContext,
    CommandError,
    Denied,
    ProgressHandle,
    Proposal,
    send_media,
)
from bot.commands.campaign_files import CampaignFileCommands, campaign_file
from bot.push.media_lines import file_label
from bot.texts import Language, t
from engine.campaign.service import CampaignService
from engine.campaign.templates import FieldWarning
from engine.events import CampaignProgress, EventBus, Handler, Subscriber
from storage.records import Campaign, CampaignStatus, Role
from storage.repos import ClientRepo

logger = logging.getLogger(__name__)
BAR_WIDTH = 20
STATUS_EVERY_S = 2.0  # edit a status message at most this often
MAX_VIEWS_PER_CAMPAIGN = 20  # live /campaign status messages kept per campaign, oldest dropped


@dataclass
class _StatusView:
    handle: ProgressHandle
    lang: Language
    last_edit: float = 0.0


class CampaignCommands(Subscriber):
    """Campaign commands; `start()` lets live status messages follow `CampaignProgress`."""

    def __init__(self, service: CampaignService, clients: ClientRepo, bus: EventBus) -> None:
        super().__init__(bus)
        self._service = service
        self._clients = clients
        # Live status messages per campaign, one per chat (a new /campaign status there replaces
        # the old one), at most MAX_VIEWS_PER_CAMPAIGN: views never accumulate without bound.
        self._views: dict[int, dict[tuple[str, str], _StatusView]] = {}
        self._files = CampaignFileCommands(service, self._campaign)

    def handlers(self) -> list[tuple[type, Handler]]:
        return [(CampaignProgress, self._on_progress)]

    def commands(self) -> list[Command]:
        op, viewer = Role.OPERATOR, Role.VIEWER
        return [
            Command("campaigns", self.campaigns, role=viewer, client_arg=0, max_args=1),
            Command("campaign new", self.new, role=op, client_arg=0),
            Command("campaign preview", self.preview, role=viewer, min_args=1, max_args=1),
            Command(
                "campaign launch", self.launch, role=op, min_args=1, max_args=3, destructive=True
            ),
            Command("campaign pause", self.pause, role=op, min_args=1, max_args=1),
            Command("campaign resume", self.resume, role=op, min_args=1, max_args=1),
            Command("campaign cancel", self.cancel, role=op, min_args=1, max_args=1),
            Command("campaign status", self.status, role=viewer, min_args=1, max_args=1),
            Command(
                "campaign report",
                self.report,
                role=viewer,
                min_args=1,
                max_args=1,
                private_output=True,
            ),
            Command("pacing", self.pacing, role=Role.ADMIN, client_arg=0, min_args=1),
            *self._files.commands(),
        ]

    async def campaigns(self, ctx: CommandContext) -> Proposal | None:
        client = ctx.args[0].lower() if ctx.args else None
        found = [c for c in await self._service.all(client) if await self._visible(ctx, c)]
        if not found:
            await ctx.say("campaigns.none")
            return None
        lines = [ctx.t("campaigns.header", count=len(found))]
        for c in found:
            lines.append(
                f"#{c.id} {c.name} — {c.status.value}"
                + (f" ({c.status_reason})" if c.status_reason else "")
            )
        await ctx.send("\n".join(lines), filename="campaigns.txt")
        return None

    async def new(self, ctx: CommandContext) -> Proposal | None:
        if len(ctx.args) < 4:
            await self._guide(ctx)
            return None
        client, session, audience, template = (
            ctx.args[0].lower(),
            ctx.args[1],
            ctx.args[2],
            ctx.request.rest(3),
        )
        draft = await self._service.create_draft(
            client, session, audience, template, created_by=ctx.operator.platform_id
        )
        campaign = draft.campaign
        created = ctx.t(
            "campaign.created",
            id=campaign.id,
            preview=ctx.command_text(f"campaign preview {campaign.id}"),
            launch=ctx.command_text(f"campaign launch {campaign.id}"),
        )
        await ctx.send("\n".join([created, *_warning_lines(ctx, draft.warnings)]))
        return None

    async def _guide(self, ctx: CommandContext) -> None:
        """The guided form: each step says what is missing and offers the choices, so the
        operator builds the one-line command a piece at a time."""
        args = list(ctx.args)
        base = ctx.command_text("campaign new")
        if not args:
            clients = [c.slug for c in await self._clients.list() if ctx.operator.may_see(c.slug)]
            await ctx.say(
                "campaign.guide_client",
                choices=", ".join(clients) or "-",
                next=f"{base} {ctx.t('arg.client')}",
            )
            return
        client = args[0].lower()
        if len(args) == 1:
            sessions = [s.name for s in await self._service.sessions_of(client)]
            await ctx.say(
                "campaign.guide_session",
                choices=", ".join(sessions) or "-",
                next=f"{base} {client} {ctx.t('arg.session')}",
            )
            return
        session = args[1]
        if len(args) == 2:
            tags = await self._service.tags_of(client)
            choices = ", ".join(f"{tag} ({count})" for tag, count in sorted(tags.items())) or "-"
            await ctx.say(
                "campaign.guide_audience",
                choices=choices,
                next=f"{base} {client} {session} {ctx.t('arg.audience')}",
            )
            return
        example = f"{base} {client} {session} {args[2]} {ctx.t('arg.text')}"
        await ctx.say("campaign.guide_text", next=example)

    async def preview(self, ctx: CommandContext) -> Proposal | None:
        campaign = await self._campaign(ctx)
        preview = await self._service.preview_checked(campaign.id)
        warnings = _warning_lines(ctx, preview.warnings)
        if not preview.samples:
            await ctx.send("\n".join([ctx.t("campaign.preview_empty", id=campaign.id), *warnings]))
            return None
        lines = [ctx.t("campaign.preview_header", id=campaign.id, name=campaign.name)]
        lines += [f"+{phone}: {text}" for phone, text in preview.samples]
        media = preview.media
        if media is not None and preview.data is None:
            attach = ctx.command_text(f"campaign attach {campaign.id}")
            warnings.append(ctx.t("campaign.preview_file_missing", id=campaign.id, attach=attach))
        elif media is not None:
            shown = file_label(media.kind, media.filename, media.size, ctx.lang)
            warnings.append(ctx.t("campaign.preview_file", file=shown))
        await ctx.send("\n".join(lines + warnings))
        if media is not None and preview.data is not None:
            # The file as the first recipient gets it: their text is its caption.
            await send_media(ctx.reply, campaign_file(media, preview.data), preview.samples[0][1])
        return None

    async def launch(self, ctx: CommandContext) -> Proposal | None:
        campaign = await self._campaign(ctx)
        at = await self._when(ctx, campaign) if len(ctx.args) > 1 else None
        plan = await self._service.plan(campaign.id)
        if plan.recipients - plan.opted_out <= 0:
            raise CommandError("campaign.nobody", id=campaign.id)
        p = plan.policy

        async def launch_now(confirmed: CommandContext) -> None:
            started = await self._service.launch(campaign.id, at)
            key = (
                "campaign.scheduled"
                if started.status is CampaignStatus.SCHEDULED
                else "campaign.launched"
            )
            await confirmed.say(
                key,
                id=campaign.id,
                at=_fmt(at),
                status=confirmed.command_text(f"campaign status {campaign.id}"),
            )

        text = ctx.t(
            "campaign.launch_confirm",
            id=campaign.id,
            name=campaign.name,
            count=plan.recipients - plan.opted_out,
            opted_out=plan.opted_out,
            gap=str(p.gap_s),
            window=str(p.window) if p.window else ctx.t("campaign.always"),
            hourly=p.hourly_cap or "-",
            daily=p.daily_cap or "-",
            when=_fmt(at) if at else ctx.t("campaign.now"),
        )
        return Proposal(text, launch_now)

    async def pause(self, ctx: CommandContext) -> Proposal | None:
        campaign = await self._service.pause((await self._campaign(ctx)).id)
        await ctx.say("campaign.paused", id=campaign.id)
        return None

    async def resume(self, ctx: CommandContext) -> Proposal | None:
        campaign = await self._service.resume((await self._campaign(ctx)).id)
        await ctx.say("campaign.resumed", id=campaign.id)
        return None

    async def cancel(self, ctx: CommandContext) -> Proposal | None:
        campaign = await self._service.cancel((await self._campaign(ctx)).id)
        await ctx.say("campaign.cancelled", id=campaign.id)
        return None

    async def status(self, ctx: CommandContext) -> Proposal | None:
        campaign = await self._campaign(ctx)
        report = await self._service.report(campaign.id)
        handle = await ctx.reply.progress(_status_text(ctx.lang, campaign, report.counts, None))
        if campaign.status in (
            CampaignStatus.RUNNING,
            CampaignStatus.SCHEDULED,
            CampaignStatus.PAUSED,
        ):
            views = self._views.setdefault(campaign.id, {})
            chat = (ctx.request.platform, ctx.request.channel)
            views.pop(chat, None)
            views[chat] = _StatusView(handle, ctx.lang, time.monotonic())
            while len(views) > MAX_VIEWS_PER_CAMPAIGN:
                del views[next(iter(views))]
        return None

    async def report(self, ctx: CommandContext) -> Proposal | None:
        campaign = await self._campaign(ctx)
        report = await self._service.report(campaign.id)
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(report.counts.items()))
        await ctx.reply.file(
            f"campaign-{campaign.id}.csv",
            report.csv,
            ctx.t(
                "campaign.report", id=campaign.id, counts=counts, rate=f"{report.reply_rate:.0%}"
            ),
        )
        return None

    async def pacing(self, ctx: CommandContext) -> Proposal | None:
        """`/pacing haby [main] [gap_s=30-90 daily_cap=200 window=default]`."""
        client, rest = ctx.args[0].lower(), list(ctx.args[1:])
        session = rest.pop(0) if rest and "=" not in rest[0] else "main"
        changes: dict[str, str] = {}
        for item in rest:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CommandError("pacing.bad_item", value=item)
            changes[key.strip()] = value.strip()
        policy = await self._service.number_pacing(client, session, changes)
        lines = [ctx.t("pacing.header", client=client, session=session)]
        lines += [f"{key} = {value}" for key, value in policy.to_dict().items()]
        await ctx.send("\n".join(lines))
        return None

    async def _on_progress(self, event: CampaignProgress) -> None:
        views = self._views.get(event.campaign.id)
        if not views:
            return
        done = event.campaign.status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)
        now = time.monotonic()
        for view in list(views.values()):
            if done or now - view.last_edit >= STATUS_EVERY_S:
                view.last_edit = now
                await view.handle.update(
                    _status_text(view.lang, event.campaign, event.counts, event.expected_finish)
                )
        if done:
            del self._views[event.campaign.id]

    async def _campaign(self, ctx: CommandContext) -> Campaign:
        raw = ctx.args[0].removeprefix("#")
        if not raw.isdigit():
            raise CommandError(
                "campaign.bad_id", value=ctx.args[0], hint=ctx.command_text("campaigns")
            )
        campaign = await self._service.get(int(raw))
        if not await self._visible(ctx, campaign):
            raise Denied("campaign.not_yours", id=campaign.id)
        return campaign

    async def _visible(self, ctx: CommandContext, campaign: Campaign) -> bool:
        return ctx.operator.may_see((await self._clients.get_by_id(campaign.client_id)).slug)

    async def _when(self, ctx: CommandContext, campaign: Campaign) -> datetime:
        """`2026-12-01 10:00` (or `10:00` today) in the client's zone."""
        client = await self._clients.get_by_id(campaign.client_id)
        text = " ".join(ctx.args[1:])
        zone = ZoneInfo(client.timezone)
        for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"):
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=zone)
            except ValueError:
                continue
        raise CommandError("campaign.bad_time", value=text, zone=client.timezone)


def _warning_lines(ctx: CommandContext, warnings: tuple[FieldWarning, ...]) -> list[str]:
    """One line per group that may be a misspelt field, for the operator to check."""
    lines = []
    for warning in warnings:
        if warning.as_choice:
            key = "campaign.warn_choice"
        else:
            key = "campaign.warn_unknown_like" if warning.suggestion else "campaign.warn_unknown"
        lines.append(ctx.t(key, written=warning.written, field=warning.suggestion or ""))
    return lines


def _status_text(
    lang: Language, campaign: Campaign, counts: dict[str, int], finish: datetime | None
) -> str:
    total = sum(v for k, v in counts.items() if ":" not in k and k != "replied")
    remaining = counts.get("queued", 0) + counts.get("sending", 0)
    done = total - remaining
    filled = round(BAR_WIDTH * done / total) if total else BAR_WIDTH
    bar = "█" * filled + "░" * (BAR_WIDTH - filled)
    sent = sum(counts.get(k, 0) for k in ("sent", "delivered", "read"))
    skipped = ", ".join(
        f"{k.split(':')[1]} {v}" for k, v in sorted(counts.items()) if k.startswith("skipped:")
    )
    return t(
        lang,
        "campaign.status",
        id=campaign.id,
        name=campaign.name,
        status=campaign.status.value,
        bar=bar,
        done=done,
        total=total,
        sent=sent,
        failed=counts.get("failed", 0),
        unknown=counts.get("unknown", 0),
        skipped=skipped or "0",
        replied=counts.get("replied", 0),
        finish=_fmt(finish) if finish else "-",
    )


def _fmt(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M %Z}"
