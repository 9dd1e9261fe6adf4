"""The Telegram adapter over a real dispatcher and database, talking to the fake Bot API."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.commands.assembly import build_registry
from bot.commands.base import Reply
from bot.commands.dispatcher import Dispatcher
from bot.commands.prospects import ProspectCommands
from bot.telegram.adapter import DocumentUpload, TelegramAdapter, telegram_start_hook
from bot.telegram.limiter import TelegramRateLimiter
from engine.directory import Directory
from storage.db import Database
from storage.records import Role
from storage.repos import AuditRepo, ClientRepo, OperatorRepo
from tests.bot.peek import PEEK
from tests.support.clocks import SteppingClock
from tests.support.fakes.telegram_server import FakeTelegram

OWNER = 1  # Spanish
ADMIN = 2  # English
OPERATOR = 3  # haby only, no language: the dispatcher's default (English)
VIEWER = 5
NEWCOMER = 6  # an operator who never opened the bot
STRANGER = 999
GROUP = -1001
FETCHES = ("getFile", "download")  # how a bot reads a document: Bot API getFile, then the file


@dataclass(frozen=True)
class Upload:
    """A document without a command in its caption, as the document hook heard of it."""

    upload: DocumentUpload


@dataclass
class TelegramWorld:
    tg: FakeTelegram
    adapter: TelegramAdapter
    db: Database
    time: SteppingClock
    reachable: list[tuple[str, str]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)

    async def write(
        self, user: int, text: str, *, chat_id: int | None = None, language: str | None = "en"
    ) -> int:
        """`user` writes `text`; returns once the adapter has handled it."""
        update_id = await self.tg.write(user, text, chat_id=chat_id, language=language)
        await self.adapter.handled(update_id)
        return update_id

    async def role_of(self, user: int) -> Role | None:
        operator = await OperatorRepo(self.db).find(f"tg:{user}")
        return None if operator is None else operator.role


async def seed(db: Database) -> None:
    clients = ClientRepo(db)
    for slug in ("haby", "marketing"):
        await clients.add(slug, slug.title(), "AR", "America/Argentina/Buenos_Aires")
    operators = OperatorRepo(db)
    await operators.add("tg:1", Role.OWNER, display_name="Olga", language="es")
    await operators.add("tg:2", Role.ADMIN, display_name="Ann", language="en")
    await operators.add("tg:3", Role.OPERATOR, ["haby"])
    await operators.add("tg:5", Role.VIEWER)
    await operators.add("tg:6", Role.VIEWER, language="en")


def build(db: Database, tg: FakeTelegram) -> TelegramWorld:
    """A world whose adapter is built but not started.

    The seeded operators opened the bot before (Telegram lets it write to them), the bot is in
    GROUP; the stranger never wrote to it.
    """
    for user in (OWNER, ADMIN, OPERATOR, VIEWER):
        tg.opened_by(user)
    tg.add_group(GROUP)
    time = SteppingClock()
    reachable: list[tuple[str, str]] = []
    uploads: list[Upload] = []

    async def mark_reachable(actor: str, chat: str) -> None:
        reachable.append((actor, chat))

    async def on_document(upload: DocumentUpload, reply: Reply) -> None:
        uploads.append(Upload(upload))
        await reply.text(f"got {upload.file_name}: {upload.size_bytes} bytes, no command")

    audit = AuditRepo(db)
    registry = build_registry(Directory(db), audit, on_start=telegram_start_hook(mark_reachable))
    registry.add(PEEK)
    registry.extend(ProspectCommands(db).commands())  # /import: a command that takes a file
    dispatcher = Dispatcher(registry, OperatorRepo(db), audit, default_language="en")
    limiter = TelegramRateLimiter(clock=time, sleep=time.sleep)
    adapter = TelegramAdapter(
        tg.token,
        dispatcher,
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        language="en",
        on_document=on_document,
        rate_limiter=limiter,
        poll_timeout_s=5.0,
        request_timeout_s=5.0,
    )
    return TelegramWorld(tg, adapter, db, time, reachable, uploads)
