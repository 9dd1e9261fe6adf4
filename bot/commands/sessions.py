"""WhatsApp sessions: /sessions, /pair (QR image refreshed as it rotates, or a pairing code
renewed as it runs out), /usehere (confirm), /restart, /logout (confirm).

A pairing request is one live message: the QR picture is replaced in place as it rotates (a
`LiveImage`), a pairing code is one message edited as it is renewed (a progress message), so
the operator never scans or types a code that is no longer valid. Outcomes (connected,
expired, failed) are new messages, so they notify.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.commands.base import (
    Command,
    CommandContext,
    CommandError,
    ProgressHandle,
    Proposal,
    Reply,
)
from bot.push.channel import LiveImage, live_image_for
from bot.texts import Language, t
from engine.errors import NotInConflict, WhatsAppError
from engine.events import (
    EventBus,
    Handler,
    PairingCodeExpired,
    PairingCodeFailed,
    PairingCodeIssued,
    QrExpired,
    QrUpdated,
    SessionRef,
    SessionStateChanged,
    Subscriber,
)
from engine.ownership import Fleet
from engine.session.qr import qr_png
from engine.sessions import SessionControl
from storage.records import Role, SessionState

logger = logging.getLogger(__name__)


@dataclass
class _Watcher:
    """Who asked to pair a session: new QR codes or pairing codes and the outcome go to them.

    `qr` is the live QR message; `code` the pairing-code message, once it was sent.
    """

    reply: Reply
    lang: Language
    qr: LiveImage
    code: ProgressHandle | None = None

    async def say(self, key: str, session: SessionRef, **params: object) -> None:
        text = t(self.lang, key, client=session.client_slug, name=session.name, **params)
        await self.reply.text(text)


class SessionCommands(Subscriber):
    """Session commands; `start()` subscribes the pairing watchers to the engine's events."""

    def __init__(self, manager: SessionControl, bus: EventBus, fleet: Fleet | None = None) -> None:
        """`fleet`: in a split deployment, the workers and who owns which number, for
        `/sessions` and `/workers`."""
        super().__init__(bus)
        self._manager = manager
        self._fleet = fleet
        self._watchers: dict[int, _Watcher] = {}

    def handlers(self) -> list[tuple[type, Handler]]:
        return [
            (QrUpdated, self._on_qr),
            (QrExpired, self._on_expired),
            (PairingCodeIssued, self._on_code),
            (PairingCodeExpired, self._on_code_expired),
            (PairingCodeFailed, self._on_code_failed),
            (SessionStateChanged, self._on_state),
        ]

    def commands(self) -> list[Command]:
        op = Role.OPERATOR
        return [
            Command("sessions", self.sessions, role=Role.VIEWER, client_arg=0, max_args=1),
            Command(
                "pair",
                self.pair,
                role=op,
                client_arg=0,
                min_args=1,
                max_args=4,
                private_output=True,
            ),
            Command(
                "usehere",
                self.use_here,
                role=op,
                client_arg=0,
                min_args=1,
                max_args=2,
                destructive=True,
            ),
            Command("workers", self.workers, role=Role.VIEWER, max_args=0),
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
        owners = None if self._fleet is None else await self._fleet.owners()
        for s in found:
            state = self._manager.state(s.id) or s.state
            line = ctx.t(
                "sessions.line",
                client=s.client_slug,
                name=s.name,
                state=state.value,
                phone=f"+{s.phone}" if s.phone else "-",
                since=f"{s.state_changed_at:%Y-%m-%d %H:%M} UTC",
            )
            if owners is not None:
                owner = owners.get(s.id)
                line += (
                    ctx.t("sessions.owner", worker=owner) if owner else ctx.t("sessions.no_owner")
                )
            if state is SessionState.CONFLICT:
                command = f"{ctx.command_text('usehere')} {s.client_slug} {s.name}"
                line += "\n  " + ctx.t("sessions.conflict_hint", command=command)
            lines.append(line)
        await ctx.send("\n".join(lines), filename="sessions.txt")
        return None

    async def workers(self, ctx: CommandContext) -> Proposal | None:
        """The workers of a split deployment, with their load and last heartbeat."""
        loads = [] if self._fleet is None else await self._fleet.workers()
        if not loads:
            await ctx.say("workers.none")
            return None
        lines = [ctx.t("workers.header", count=len(loads))]
        for load in loads:
            ago = f"{load.heartbeat_age_s:.0f}"
            if not load.alive:
                lines.append(ctx.t("workers.gone", worker=load.worker.id, ago=ago))
                continue
            lines.append(
                ctx.t(
                    "workers.line",
                    worker=load.worker.id,
                    sessions=load.sessions,
                    capacity=load.worker.capacity,
                    ago=ago,
                    version=load.worker.version,
                )
            )
        await ctx.send("\n".join(lines), filename="workers.txt")
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
        if (self._manager.state(session.id) or session.state) is SessionState.CONFLICT:
            command = f"{ctx.command_text('usehere')} {client} {name}"
            raise CommandError("pair.in_conflict", client=client, name=name, command=command)
        await ctx.say("pair.starting", client=client, name=name)
        try:
            code = await self._manager.pair(client, name, phone)
        except WhatsAppError as exc:
            raise CommandError("pair.failed", client=client, name=name, detail=str(exc)) from None
        watcher = _Watcher(ctx.reply, ctx.lang, live_image_for(ctx.reply))
        self._watchers[session.id] = watcher
        if phone is not None:
            watcher.code = await ctx.reply.progress(ctx.t("pair.code", code=code, phone=phone))
        else:
            # No await before show() takes the image's lock: a rotation arriving meanwhile
            # waits for this first picture and then replaces it.
            await watcher.qr.show(qr_png(code), ctx.t("pair.qr_caption", client=client, name=name))
        return None

    async def use_here(self, ctx: CommandContext) -> Proposal | None:
        """Use WhatsApp here while it is open in another window: that window loses it, so the
        operator confirms first."""
        client, name = ctx.args[0].lower(), (ctx.args[1] if len(ctx.args) > 1 else "main")
        session = await self._manager.get(client, name)
        state = self._manager.state(session.id) or session.state
        if state is not SessionState.CONFLICT:
            raise CommandError("usehere.not_needed", client=client, name=name, state=state.value)

        async def take_over_now(confirmed: CommandContext) -> None:
            await confirmed.say("usehere.starting", client=client, name=name)
            try:
                reached = await self._manager.take_over(client, name)
            except NotInConflict:
                raise CommandError(
                    "usehere.not_needed", client=client, name=name, state="-"
                ) from None
            except WhatsAppError as exc:
                raise CommandError(
                    "usehere.failed", client=client, name=name, detail=str(exc)
                ) from None
            if reached is SessionState.CONNECTED:
                await confirmed.say("usehere.done", client=client, name=name)
            else:
                await confirmed.say(
                    "usehere.pending", client=client, name=name, state=reached.value
                )

        phone = f"+{session.phone}" if session.phone else "-"
        prompt = ctx.t("usehere.confirm", client=client, name=name, phone=phone)
        return Proposal(prompt, take_over_now)

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
        session = event.session
        caption = "\n".join(
            (
                t(watcher.lang, "pair.qr_caption", client=session.client_slug, name=session.name),
                t(watcher.lang, "pair.qr_rotated", attempt=event.attempt, max=event.max_attempts),
            )
        )
        await watcher.qr.show(qr_png(event.code), caption)

    async def _on_expired(self, event: QrExpired) -> None:
        watcher = self._watchers.pop(event.session.session_id, None)
        if watcher is not None:
            await watcher.say("pair.expired", event.session)

    async def _on_code(self, event: PairingCodeIssued) -> None:
        watcher = self._watchers.get(event.session.session_id)
        if watcher is None or event.attempt <= 1:
            return  # the first code went out with the /pair answer
        phone = f"+{event.phone}"
        if watcher.code is None:  # the first code's message is not out yet
            await watcher.say("pair.code_renewed", event.session, code=event.code, phone=phone)
            return
        await watcher.code.update(
            t(watcher.lang, "pair.code_renewed", code=event.code, phone=phone)
        )

    async def _on_code_expired(self, event: PairingCodeExpired) -> None:
        watcher = self._watchers.pop(event.session.session_id, None)
        if watcher is not None:
            await watcher.say("pair.code_expired", event.session, phone=f"+{event.phone}")

    async def _on_code_failed(self, event: PairingCodeFailed) -> None:
        watcher = self._watchers.pop(event.session.session_id, None)
        if watcher is not None:
            await watcher.say(
                "pair.code_failed", event.session, phone=f"+{event.phone}", detail=event.detail
            )

    async def _on_state(self, event: SessionStateChanged) -> None:
        if event.new is not SessionState.CONNECTED:
            return
        watcher = self._watchers.pop(event.session.session_id, None)
        if watcher is not None:
            await watcher.say("pair.connected", event.session)
