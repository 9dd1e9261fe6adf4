"""The people and the dispatcher the command tests talk to."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.commands.base import CommandContext
from bot.commands.confirmations import ConfirmOutcome
from bot.commands.dispatcher import Dispatcher, Incident
from bot.commands.parsing import parse_request
from storage.db import Database
from storage.records import AuditEntry, Role
from storage.repos import AuditRepo, OperatorRepo
from tests.bot.commands.recording import RecordingReply
from tests.support.clocks import ManualClock

OWNER = "tg:1"
ADMIN = "tg:2"  # every client, answers in English
OPERATOR_HABY = "tg:3"
VIEWER = "tg:4"
ADMIN_HABY = "slack:UA"  # admin scoped to haby, Spanish
STRANGER = "tg:999"


@dataclass
class World:
    """The dispatcher under test and what it touched."""

    db: Database
    dispatcher: Dispatcher
    clock: ManualClock
    incidents: list[Incident] = field(default_factory=list)
    started: list[CommandContext] = field(default_factory=list)

    async def run(
        self, actor: str, text: str, reply: RecordingReply | None = None
    ) -> RecordingReply:
        reply = reply or RecordingReply()
        platform = "slack" if actor.startswith("slack:") else "telegram"
        request = parse_request(text, actor=actor, platform=platform, channel="chat-1")
        assert request is not None
        await self.dispatcher.dispatch(request, reply)
        return reply

    async def press(
        self, actor: str, token: str, *, cancel: bool = False
    ) -> tuple[ConfirmOutcome, RecordingReply]:
        """Someone presses the confirm (or cancel) button of a proposal."""
        reply = RecordingReply()
        button = self.dispatcher.cancel if cancel else self.dispatcher.confirm
        outcome = await button(token, actor=actor, platform="telegram", reply=reply)
        return outcome, reply

    async def audit(self) -> list[AuditEntry]:
        """The audit log, oldest first."""
        return list(reversed(await AuditRepo(self.db).recent(500)))

    async def role_of(self, platform_id: str) -> Role | None:
        operator = await OperatorRepo(self.db).find(platform_id)
        return None if operator is None else operator.role
