"""Migration 0007: messages and campaigns get their media columns; old rows keep their kind and
caption and read as "no file kept"; the downgrade drops the columns and keeps every row.
SQLite and MariaDB."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.migrate import current_revision, downgrade, head_revision, schema_drift, upgrade
from storage.records import MediaInfo, MediaState
from storage.repos import CampaignRepo, MessageRepo
from tests.storage.old_revision import BACKENDS, NOW, database_at, rows


@pytest.fixture(params=BACKENDS)
async def old_db(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[Database]:
    """A database at 0006 with a contact who sent a text and a voice note, and a campaign."""
    async with database_at(request.param, sqlite_url, "0006") as db:
        async with db.engine.begin() as c:
            n = {"n": NOW}
            await c.execute(
                text(
                    "insert into wa_sessions (id, client_id, name, state, enabled,"
                    " state_changed_at, created_at) values (1, 1, 'main', 'stopped', 1, :n, :n)"
                ),
                n,
            )
            await c.execute(
                text(
                    "insert into contacts (id, client_id, phone, fields, created_at, updated_at)"
                    " values (1, 1, '5491100000001', '{}', :n, :n)"
                ),
                n,
            )
            for mid, body, kind in ((1, "hola", "chat"), (2, "", "ptt"), (3, "mirá", "image")):
                await c.execute(
                    text(
                        "insert into messages (id, client_id, session_id, contact_id, direction,"
                        " origin, body, type, status, sent_at, stored_at) values"
                        " (:id, 1, 1, 1, 'in', 'contact', :body, :kind, 'received', :n, :n)"
                    ),
                    {"id": mid, "body": body, "kind": kind, **n},
                )
            await c.execute(
                text(
                    "insert into campaigns (id, client_id, session_id, name, template, selection,"
                    " status, created_at) values (1, 1, 1, 'feria', 'Hola', '{}', 'draft', :n)"
                ),
                n,
            )
        yield db


async def test_old_rows_read_as_media_without_a_file_and_survive_the_round_trip(
    old_db: Database,
) -> None:
    await upgrade(old_db)
    assert await current_revision(old_db) == head_revision()
    assert await schema_drift(old_db) == []
    messages = {m.id: m for m in await MessageRepo(old_db).conversation(1)}
    assert messages[1].media is None, "a text message has no media"
    assert messages[2].media == MediaInfo(kind="ptt", state=MediaState.NONE)
    assert messages[3].media == MediaInfo(kind="image", state=MediaState.NONE)
    assert messages[3].body == "mirá", "the caption stays the body"
    assert (await CampaignRepo(old_db).get(1)).media is None

    await MessageRepo(old_db).set_transcript(2, "hola, quiero info")
    await MessageRepo(old_db).set_media_state(2, MediaState.STORED, sha256="a" * 64, size_bytes=9)
    await downgrade(old_db, "0006")
    assert await rows(old_db, "select id, type, body from messages order by id") == [
        (1, "chat", "hola"),
        (2, "ptt", ""),
        (3, "image", "mirá"),
    ]
    columns = await rows(old_db, "select * from messages where id = 2")
    assert len(columns[0]) == 15, "the seven media columns are gone"
    await upgrade(old_db)
    again = {m.id: m for m in await MessageRepo(old_db).conversation(1)}
    assert again[2].media == MediaInfo(kind="ptt", state=MediaState.NONE)
