"""WhatsApp sessions: /sessions, /pair (QR image refreshed as it rotates, or a pairing code),
/restart, /logout (confirm)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.commands.base import Command, CommandContext, CommandError, Proposal, Reply
from bot.texts import Language, t
from engine.events import EventBus, QrExpired, QrUpdated, SessionStateChanged
from engine.qr import qr_png
from engine.sessions import SessionManager
from engine.whatsapp.errors import WhatsAppError
from storage.records import Role, SessionState

logger = logging.getLogger(__name__)


@dataclass
class _Watcher:
    """Who asked to pair a session: new QR codes and the outcome go to them."""

    reply: Reply
    lang: Language


class SessionCommands:
    def __init__(self, manager: SessionManager, bus: EventBus) -> None:
        self._manager = manager
        self._watchers: dict[int, _Watcher] = {}
        bus.subscribe(QrUpdated, self._on_qr)
        bus.subscribe(QrExpired, self._on_expired)
        bus.subscribe(SessionStateChanged, self._on_state)

    def commands(self) -> list[Command]:
        op = Role.OPERATOR
        return [
            Command("sessions", self.sessions, role=Role.VIEWER, client_arg=0, max_args=1),
            Command("pair", self.pair, role=op, client_arg=0, min_args=1, max_args=4),
            Command("restart", self.restart, role=op, client_arg=0, min_args=1, max_args=2),
            Command(
                "logout",
                self.logout,
                role=op,
                client_arg=0,
                min_args=1,
                max_args=2,
                destructive=True,
            ),
        ]

    async def sessions(self, ctx: CommandContext) -> Proposal | None:
        client = ctx.args[0].lower() if ctx.args else None
        found = [s for s in await self._manager.list(client) if ctx.operator.may_see(s.client_slug)]
        if not found:
            await ctx.say("sessions.none")
            return None
        lines = [ctx.t("sessions.header", count=len(found))]
        for s in found:
            state = self._manager.state(s.id) or s.state
            lines.append(
                ctx.t(
                    "sessions.line",
                    client=s.client_slug,
                    name=s.name,
                    state=state.value,
                    phone=f"+{s.phone}" if s.phone else "-",
                    since=f"{s.state_changed_at:%Y-%m-%d %H:%M} UTC",
                )
            )
        await ctx.send("\n".join(lines), filename="sessions.txt")
        return None

    async def pair(self, ctx: CommandContext) -> Proposal | None:
        args = list(ctx.args)
        phone = None
        if "--code" in args:
            at = args.index("--code")
            if at + 1 >= len(args):
                raise CommandError("pair.code_needs_phone", usage=ctx.command_text("pair"))
            phone = args[at + 1]
            del args[at : at + 2]
        client, name = args[0].lower(), (args[1] if len(args) > 1 else "main")
        session = await self._manager.get(client, name)
        await ctx.say("pair.starting", client=client, name=name)
        try:
            code = await self._manager.pair(client, name, phone)
        except WhatsAppError as exc:
            raise CommandError("pair.failed", client=client, name=name, detail=str(exc)) from None
        self._watchers[session.id] = _Watcher(ctx.reply, ctx.lang)
        if phone is not None:
            await ctx.say("pair.code", code=code, phone=phone)
        else:
            await ctx.reply.image(qr_png(code), ctx.t("pair.qr_caption", client=client, name=name))
        return None

    async def restart(self, ctx: CommandContext) -> Proposal | None:
        client, name = ctx.args[0].lower(), (ctx.args[1] if len(ctx.args) > 1 else "main")
        await self._manager.restart(client, name)
        await ctx.say("restart.done", client=client, name=name)
        return None

    async def logout(self, ctx: CommandContext) -> Proposal | None:
        client, name = ctx.args[0].lower(), (ctx.args[1] if len(ctx.args) > 1 else "main")
        session = await self._manager.get(client, name)

        async def logout_now(confirmed: CommandContext) -> None:
            try:
                await self._manager.logout(client, name)
            except WhatsAppError as exc:
                raise CommandError(
                    "logout.failed", client=client, name=name, detail=str(exc)
                ) from None
            await confirmed.say("logout.done", client=client, name=name)

        phone = f"+{session.phone}" if session.phone else "-"
        return Proposal(ctx.t("logout.confirm", client=client, name=name, phone=phone), logout_now)

    async def _on_qr(self, event: QrUpdated) -> None:
        watcher = self._watchers.get(event.session.session_id)
        if watcher is None or event.attempt <= 1:
            return  # the first QR went out with the /pair answer
        caption = t(watcher.lang, "pair.qr_rotated", attempt=event.attempt, max=event.max_attempts)
        await watcher.reply.image(qr_png(event.code), caption)

    async def _on_expired(self, event: QrExpired) -> None:
        watcher = self._watchers.pop(event.session.session_id, None)
        if watcher is not None:
            await watcher.reply.text(
                t(
                    watcher.lang,
                    "pair.expired",
                    client=event.session.client_slug,
                    name=event.session.name,
                )
            )

    async def _on_state(self, event: SessionStateChanged) -> None:
        if event.new is not SessionState.CONNECTED:
            return
        watcher = self._watchers.pop(event.session.session_id, None)
        if watcher is not None:
            await watcher.reply.text(
                t(
                    watcher.lang,
                    "pair.connected",
                    client=event.session.client_slug,
                    name=event.session.name,
                )
            )
