"""Migration 0005: contacts whose 'phone' was a LID get it as their LID, message and recipient
rows get their key ids (and no message is lost to SQLite's table rebuild, whose DROP cascades
when foreign keys are on), and the downgrade puts the LID digits back. SQLite and MariaDB."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from tests.storage.old_revision import BACKENDS, NOW, database_at, rows

LID_DIGITS = "123456789012345"
PHONE = "5491112345678"


@pytest.fixture(params=BACKENDS)
async def old_db(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[Database]:
    """A database at revision 0004 with a LID contact, a phone contact and a campaign send."""
    async with database_at(request.param, sqlite_url, "0004") as db:
        async with db.engine.begin() as c:
            n = {"n": NOW}
            await c.execute(
                text(
                    "insert into wa_sessions (id, client_id, name, state, enabled,"
                    " state_changed_at, created_at) values (1, 1, 'main', 'stopped', 1, :n, :n)"
                ),
                n,
            )
            for cid, phone, wa_id in ((1, LID_DIGITS, None), (2, PHONE, f"{PHONE}@c.us")):
                await c.execute(
                    text(
                        "insert into contacts (id, client_id, phone, wa_id, fields, created_at,"
                        " updated_at) values (:id, 1, :p, :w, '{}', :n, :n)"
                    ),
                    {"id": cid, "p": phone, "w": wa_id, **n},
                )
            rows = (
                (1, 1, "in", f"false_{LID_DIGITS}@lid_AAA"),
                (2, 2, "in", f"false_{PHONE}@c.us_BBB"),
                (3, 2, "out", f"true_{PHONE}@c.us_CCC"),
            )
            for mid, cid, direction, wa in rows:
                await c.execute(
                    text(
                        "insert into messages (id, client_id, session_id, contact_id, direction,"
                        " origin, wa_message_id, body, type, status, sent_at, stored_at)"
                        " values (:id, 1, 1, :c, :d, 'contact', :w, 'x', 'chat', 'sent', :n, :n)"
                    ),
                    {"id": mid, "c": cid, "d": direction, "w": wa, **n},
                )
            await c.execute(
                text(
                    "insert into campaigns (id, client_id, session_id, name, template, selection,"
                    " status, created_at) values (1, 1, 1, 'c', 'hola', '{}', 'running', :n)"
                ),
                n,
            )
            await c.execute(
                text(
                    "insert into campaign_recipients (id, campaign_id, contact_id, state,"
                    " wa_message_id, updated_at) values (1, 1, 2, 'sent', :w, :n)"
                ),
                {"w": f"true_{PHONE}@c.us_CCC", **n},
            )
        yield db


async def test_lid_contacts_and_key_ids_survive_upgrade_and_downgrade(old_db: Database) -> None:
    await upgrade(old_db)
    assert await current_revision(old_db) == head_revision()
    assert await rows(old_db, "select id, phone, lid from contacts order by id") == [
        (1, None, f"{LID_DIGITS}@lid"),
        (2, PHONE, None),
    ]
    assert await rows(old_db, "select wa_key_id from messages order by id") == [
        ("AAA",),
        ("BBB",),
        ("CCC",),
    ]
    assert await rows(old_db, "select wa_key_id from campaign_recipients") == [("CCC",)]

    await downgrade(old_db, "0004")
    assert await rows(old_db, "select id, phone from contacts order by id") == [
        (1, LID_DIGITS),
        (2, PHONE),
    ]
    await upgrade(old_db)
    assert await current_revision(old_db) == head_revision()
