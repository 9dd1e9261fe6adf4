"""Migration 0003 moves packed outbox rows (content after a separator in `text`) into the new
columns, and its downgrade packs them back. Run on a fresh SQLite file: it migrates down and up."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Connection, text

from storage.db import Database
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.records import Content
from storage.repos.outbox import OutboxRepo, encode_content

NOW = datetime(2026, 11, 2, tzinfo=UTC)
CONTENTS = [
    Content("plain"),
    Content("with buttons", (("Pair", "/pair haby main"),)),
    Content("", image=b"\x89PNG\x00\x01"),
    Content("cap", (("Ok", "/ok"),), file_name="a.csv", file_data=b"x,y\n" * 7_500),
    Content("both", image=b"img", file_name="b.txt", file_data=b"zz"),
]


async def _downgrade(db: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with db.engine.begin() as connection:
        await connection.run_sync(run)


async def test_packed_rows_survive_upgrade_and_downgrade(sqlite_url: str) -> None:
    async with Database(sqlite_url) as db:
        await upgrade(db, "0002")
        async with db.engine.begin() as connection:
            for content in CONTENTS:
                await connection.execute(
                    text(
                        "insert into alert_deliveries (chat_ref, text, status, attempts,"
                        " next_attempt_at, created_at) values ('tg:1', :t, 'pending', 0, :n, :n)"
                    ),
                    {"t": encode_content(content), "n": NOW.replace(tzinfo=None)},
                )
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        assert [d.content for d in await OutboxRepo(db).of_chat("tg:1")] == CONTENTS
        async with db.engine.connect() as connection:
            kinds = list(
                await connection.scalars(
                    text("select attachment_kind from alert_deliveries order by id")
                )
            )
        assert kinds == [None, None, "image", "file", None], "the mixed row stays packed"

        await OutboxRepo(db).enqueue("tg:2", CONTENTS[:4], NOW)
        await _downgrade(db, "0002")
        async with db.engine.connect() as connection:
            texts = list(
                await connection.scalars(text("select text from alert_deliveries order by id"))
            )
        assert texts == [encode_content(c) for c in CONTENTS + CONTENTS[:4]]
        await upgrade(db)
        assert [d.content for d in await OutboxRepo(db).of_chat("tg:2")] == CONTENTS[:4]
