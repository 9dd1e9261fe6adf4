"""The one place that identifies, authorises, runs, answers, confirms and audits commands."""

from __future__ import annotations

import logging
import secrets
import shlex
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from bot.commands.base import (
    Command,
    CommandContext,
    CommandError,
    CommandRequest,
    ConfirmPrompt,
    Denied,
    PrivateReplies,
    Reply,
    send_long,
    usage_line,
)
from bot.commands.confirmations import ConfirmOutcome, Pending, PendingConfirmations
from bot.commands.parsing import read_arguments
from bot.commands.registry import CommandRegistry
from bot.commands.strangers import StrangerGate
from bot.texts import Language, pick_language, t
from engine.clock import Clock, SystemClock
from engine.errors import InvalidInput, NoWorker
from storage.db import AlreadyExists, NotFound, StorageUnavailable
from storage.records import AuditResult, Operator
from storage.repos import AuditRepo, OperatorRepo

if TYPE_CHECKING:
    from bot.commands.late_replies import LateReplies

logger = logging.getLogger(__name__)

_AUDIT_ARGS_CHARS = 2000
_AUDIT_DETAIL_CHARS = 1000
_AUDIT_COMMAND_CHARS = 64
MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024
"""The largest file a command takes from chat (Telegram serves bots 20 MB at most anyway)."""


@dataclass(frozen=True)
class Incident:
    """An unexpected failure, for the admin channel: the person only saw `ref`."""

    ref: str
    request: CommandRequest
    error: BaseException
    traceback: str


IncidentHook = Callable[[Incident], Awaitable[None]]


class Dispatcher:
    """Runs requests from any adapter against the registry.

    Every operator's request ends in exactly one audit entry per step (run, proposal,
    confirmation) with its outcome; handlers never check roles or scope themselves. Strangers
    go through `strangers` (bot/commands/strangers.py): one refusal per chat per window within
    a budget of their own, one audit row per actor per window with a count. A `private_output`
    command typed in a shared chat answers the operator privately, with a pointer where it was
    typed (or is refused there with a hint). With `late_replies`, sends a handler's reply makes
    after the command returned (from engine events) are queued instead of awaited.
    """

    def __init__(
        self,
        registry: CommandRegistry,
        operators: OperatorRepo,
        audit: AuditRepo,
        *,
        default_language: Language = "es",
        clock: Clock | None = None,
        confirm_ttl_s: float = 300.0,
        on_unexpected: IncidentHook | None = None,
        late_replies: LateReplies | None = None,
        max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
        strangers: StrangerGate | None = None,
    ) -> None:
        clock = clock or SystemClock()
        self.registry = registry
        # Strangers' refusals and audit rows are bounded (bot/commands/strangers.py); the
        # default gate keeps time by `clock`, so tests that move it move the windows too.
        self.strangers = strangers or StrangerGate(audit, clock=clock)
        self.max_attachment_bytes = max_attachment_bytes
        self.late_replies = late_replies
        self._operators = operators
        self._audit_log = audit
        self._default_language = default_language
        self._pending = PendingConfirmations(clock, confirm_ttl_s)
        self.on_unexpected = on_unexpected

    async def dispatch(self, request: CommandRequest, reply: Reply) -> AuditResult:
        """Identify the actor, then authorise and run the command; answers through `reply`.

        A stranger is refused before anything past the command word is read, and a file sent
        with the command is fetched only by the handler of a command that takes one, once
        authorised (`CommandContext.file()`).
        """
        operator = await self._identify(request, reply, request.name)
        if operator is None:
            return AuditResult.DENIED
        ctx = CommandContext(request, operator, reply, self._language(operator))
        try:
            request = ctx.request = read_arguments(request)
        except CommandError as exc:
            return await self._failed(ctx, request.name, exc)
        match = self.registry.find(request.name, request.args, request.arg_offsets)
        if match is None:
            return await self._failed(ctx, request.name, self._no_such_command(ctx))
        command = match.command
        args = _lowercase_clients(command, match.args)
        ctx.request = replace(request, name=command.name, args=args, arg_offsets=match.offsets)
        try:
            self._authorise(command, ctx.operator, args)
            if not command.accepts(len(args)):
                raise CommandError("error.usage", usage=self._usage(command, ctx))
            ctx.reply = await self._route(command, ctx)
            if not command.takes_file:
                ctx.request = replace(ctx.request, fetch_attachment=None)
            ctx.file_limit_bytes = self.max_attachment_bytes
            proposal = await command.handler(ctx)
            if proposal is None:
                if command.destructive:
                    raise RuntimeError(f"destructive command {command.name!r} did not propose")
                await self._audit(ctx.request, command.name, AuditResult.OK)
                return AuditResult.OK
            pending = self._pending.add(command, ctx.request, proposal)
            await reply.confirm(
                ConfirmPrompt(
                    proposal.text,
                    pending.token,
                    ctx.t("confirm.button"),
                    ctx.t("confirm.cancel_button"),
                )
            )
            await self._audit(ctx.request, command.name, AuditResult.PROPOSED)
            return AuditResult.PROPOSED
        except Exception as exc:
            return await self._failed(ctx, command.name, exc)

    async def refuse(self, request: CommandRequest, reply: Reply | None, detail: str) -> None:
        """A request an adapter will not run (from another Slack workspace): audited as denied
        and, where there is a way to answer, given the one refusal strangers get."""
        await self._turn_away(request, reply, request.name, detail)

    async def confirm(
        self, token: str, *, actor: str, platform: str, reply: Reply
    ) -> ConfirmOutcome:
        """The confirm button: runs the proposal once, only for its proposer, before it expires."""
        return await self._resolve(token, actor, platform, reply, run=True)

    async def cancel(
        self, token: str, *, actor: str, platform: str, reply: Reply
    ) -> ConfirmOutcome:
        """The cancel button: drops the proposal (only its proposer may)."""
        return await self._resolve(token, actor, platform, reply, run=False)

    async def _resolve(
        self, token: str, actor: str, platform: str, reply: Reply, *, run: bool
    ) -> ConfirmOutcome:
        pending = self._pending.peek(token)
        probe = pending.request if pending else CommandRequest("confirm", (), "", actor, "", "")
        probe = replace(probe, actor=actor, platform=platform)
        what = pending.command.name if pending else "confirm"
        operator = await self._identify(probe, reply, what)
        if operator is None:
            return ConfirmOutcome.DENIED
        ctx = CommandContext(probe, operator, reply, self._language(operator))
        taken = self._take(token, actor)
        if not isinstance(taken, Pending):
            outcome, key = taken
            result = AuditResult.ERROR if outcome is ConfirmOutcome.UNKNOWN else AuditResult.DENIED
            await self._audit(probe, what, result, detail=t("en", key, command=what))
            await _send(reply, ctx.t(key, command=ctx.command_text(what)))
            return outcome
        if not run:
            await self._audit(taken.request, what, AuditResult.OK, detail="cancelled")
            await _send(reply, ctx.t("confirm.cancelled"))
            return ConfirmOutcome.CANCELLED
        return await self._run_confirmed(taken, ctx)

    def _take(self, token: str, actor: str) -> Pending | tuple[ConfirmOutcome, str]:
        """The proposal, removed so that it runs once, or why it may not run (outcome, text).

        No await in here: of two presses racing, one takes it and the other finds nothing.
        """
        pending = self._pending.peek(token)
        if pending is None:
            return ConfirmOutcome.UNKNOWN, "confirm.unknown"
        if pending.actor != actor:
            return ConfirmOutcome.NOT_YOURS, "confirm.not_yours"
        if self._pending.is_expired(pending):
            return ConfirmOutcome.EXPIRED, "confirm.expired"
        self._pending.take(token)
        return pending

    async def _run_confirmed(self, pending: Pending, ctx: CommandContext) -> ConfirmOutcome:
        try:
            # Roles and scopes may have changed since the proposal: authorise again.
            self._authorise(pending.command, ctx.operator, pending.request.args)
            ctx.reply = await self._route(pending.command, ctx)
            await pending.proposal.action(ctx)
        except Exception as exc:
            result = await self._failed(ctx, pending.command.name, exc)
            return ConfirmOutcome.DENIED if result is AuditResult.DENIED else ConfirmOutcome.FAILED
        await self._audit(pending.request, pending.command.name, AuditResult.OK, "confirmed")
        return ConfirmOutcome.DONE

    async def _route(self, command: Command, ctx: CommandContext) -> Reply:
        """Where the handler answers: privately for `private_output` commands typed in a
        shared chat (a pointer stays there), and through the late-reply queue if there is one."""
        reply = ctx.reply
        if command.private_output and isinstance(reply, PrivateReplies) and not reply.is_private:
            private = await reply.private_reply()
            typed = ctx.command_text(command.name)
            if private is None:
                raise Denied("private.unreachable", command=typed, hint=reply.private_hint)
            await _send(reply, ctx.t("private.sent", command=typed))
            reply = private
        if self.late_replies is not None:
            return self.late_replies.wrap(reply)
        return reply

    async def _identify(self, request: CommandRequest, reply: Reply, what: str) -> Operator | None:
        """The operator behind `request.actor`; strangers get one refusal and are audited."""
        try:
            operator = await self._operators.find(request.actor)
        except Exception as exc:
            lang = pick_language(request.language, default=self._default_language)
            await self._unexpected(request, reply, lang, what, exc)
            return None
        if operator is None:
            await self._turn_away(request, reply, what, "unknown user")
        return operator

    async def _turn_away(
        self, request: CommandRequest, reply: Reply | None, what: str, detail: str
    ) -> None:
        """A stranger's attempt: audited and refused within the gate's limits."""
        lang = pick_language(request.language, default=self._default_language)
        text = t(lang, "denied.unknown_user", actor=request.actor)
        send = None if reply is None else partial(_send, reply)
        await self.strangers.turn_away(request, what, detail, send, text)

    def _language(self, operator: Operator) -> Language:
        return pick_language(operator.language, default=self._default_language)

    @staticmethod
    def _authorise(command: Command, operator: Operator, args: tuple[str, ...]) -> None:
        if not command.may_run(operator):
            raise Denied("denied.role", command=command.name, role=command.role.value)
        for slug in command.client_slugs(args):
            if not operator.may_see(slug):
                raise Denied("denied.client", client=slug)

    def _usage(self, command: Command, ctx: CommandContext) -> str:
        return usage_line(command, ctx.lang, ctx.reply.command_prefix)

    def _no_such_command(self, ctx: CommandContext) -> CommandError:
        name = ctx.request.name
        group = self.registry.group(name)
        allowed = [c for c in group if c.may_run(ctx.operator)]
        if group and not allowed:
            least = min((c.role for c in group), key=lambda role: role.rank)
            return Denied("denied.role", command=name, role=least.value)
        if allowed:
            usages = "\n".join(self._usage(c, ctx) for c in allowed)
            return CommandError("error.choose_subcommand", usages=usages)
        return CommandError(
            "error.unknown_command", command=ctx.command_text(name), help=ctx.command_text("help")
        )

    async def _failed(self, ctx: CommandContext, what: str, exc: Exception) -> AuditResult:
        """The one error path: expected errors say what to do, others get a reference id."""
        if isinstance(exc, CommandError):
            result = AuditResult.DENIED if isinstance(exc, Denied) else AuditResult.ERROR
            text, detail = exc.text(ctx.lang), exc.text("en")
        elif isinstance(exc, InvalidInput | NotFound | AlreadyExists):
            result, detail = AuditResult.ERROR, str(exc)
            # Engine and storage errors carry their text's key: the operator reads it in their
            # language (an error raised with plain English stays English).
            said = exc.text or detail
            text = ctx.t("error.invalid", detail=said)
        elif isinstance(exc, NoWorker):
            # A split deployment: no worker took the command for the number (engine/remote.py).
            result, detail = AuditResult.ERROR, str(exc)
            text = ctx.t("error.no_worker", detail=detail)
        elif isinstance(exc, StorageUnavailable):
            result, detail = AuditResult.ERROR, str(exc)
            text = ctx.t("error.storage_unavailable")
            logger.warning("command %r: %s", what, exc)
        else:
            await self._unexpected(ctx.request, ctx.reply, ctx.lang, what, exc)
            return AuditResult.ERROR
        await self._audit(ctx.request, what, result, detail=detail)
        await _send(ctx.reply, text)
        return result

    async def _unexpected(
        self, request: CommandRequest, reply: Reply, lang: Language, what: str, exc: Exception
    ) -> None:
        ref = secrets.token_hex(4)
        logger.error("command %r by %s failed, ref %s", what, request.actor, ref, exc_info=exc)
        detail = f"ref {ref}: {type(exc).__name__}: {exc}"
        await self._audit(request, what, AuditResult.ERROR, detail=detail)
        await _send(reply, t(lang, "error.unexpected", ref=ref))
        if self.on_unexpected is not None:
            trace = "".join(traceback.format_exception(exc))
            try:
                await self.on_unexpected(Incident(ref, request, exc, trace))
            except Exception:
                logger.exception("on_unexpected hook failed for ref %s", ref)

    async def _audit(
        self,
        request: CommandRequest,
        what: str,
        result: AuditResult,
        detail: str | None = None,
    ) -> None:
        """Record one outcome; a failing audit write is logged and never hides the answer."""
        command = self.registry.get(what)
        slugs = command.client_slugs(request.args) if command else ()
        try:
            await self._audit_log.record(
                request.actor,
                request.platform,
                what[:_AUDIT_COMMAND_CHARS],
                shlex.join(request.args)[:_AUDIT_ARGS_CHARS],
                result,
                client_slug=slugs[0] if slugs else None,
                detail=detail[:_AUDIT_DETAIL_CHARS] if detail else None,
            )
        except Exception:
            logger.exception(
                "audit lost: %s %s %r %s (%s)", request.actor, what, request.args, result, detail
            )


def _lowercase_clients(command: Command, args: tuple[str, ...]) -> tuple[str, ...]:
    """Client slugs are lowercase; `Haby` is accepted and checked as `haby`."""
    if command.client_arg is None:
        return args
    positions = range(
        command.client_arg, len(args) if command.client_arg_repeats else 1 + command.client_arg
    )
    return tuple(a.lower() if i in positions else a for i, a in enumerate(args))


async def _send(reply: Reply, text: str) -> None:
    """Answer on the error and refusal paths, where a failing platform must not raise further."""
    try:
        await send_long(reply, text)
    except Exception:
        logger.exception("could not deliver a reply: %r", text[:200])
