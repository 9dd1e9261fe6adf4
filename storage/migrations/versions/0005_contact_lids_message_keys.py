"""contact lids and message key ids

A contact has a phone and, once known, a LID (WhatsApp's ``<digits>@lid`` id); a contact seen
only by its LID has no phone until WhatsApp tells it. Messages and campaign recipients keep
the key's own id (``wa_key_id``), the same whatever form of the chat a receipt names.

Existing data: the listener used to store a LID sender's digits as its phone. Those contacts
are recognised by their messages' ids (``false_<digits>@lid_<id>``) and get the LID instead.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

import storage.types  # noqa: F401  (column types referenced by autogenerate)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def _key_id(serialized: str) -> str | None:
    """The id part of ``<fromMe>_<remote>_<id>[_<participant>]``."""
    parts = serialized.split("_")
    return parts[2][:64] if len(parts) >= 3 and parts[2] else None


def _rows(table: str, *, after: int) -> Iterator[tuple[int, int | None, str]]:
    query = sa.text(
        f"SELECT id, {'session_id' if table == 'messages' else 'campaign_id'}, wa_message_id"
        f" FROM {table} WHERE wa_message_id IS NOT NULL AND id > :after ORDER BY id LIMIT :n"
    )
    for row in op.get_bind().execute(query, {"after": after, "n": BATCH}):
        yield int(row[0]), row[1], str(row[2])


def _fill_key_ids(table: str) -> None:
    """Batches of key ids from the serialised ids; a repeated (session, key) keeps the first."""
    bind = op.get_bind()
    seen: set[tuple[int | None, str]] = set()
    last = 0
    while True:
        rows = list(_rows(table, after=last))
        if not rows:
            return
        updates = []
        for row_id, scope, serialized in rows:
            key = _key_id(serialized)
            if key is None or (table == "messages" and (scope, key) in seen):
                continue
            seen.add((scope, key))
            updates.append({"id": row_id, "key": key})
        if updates:
            bind.execute(sa.text(f"UPDATE {table} SET wa_key_id = :key WHERE id = :id"), updates)
        last = rows[-1][0]


def _move_lid_phones() -> None:
    """Contacts whose 'phone' was a LID (their messages name the @lid chat) get it as a LID."""
    bind = op.get_bind()
    candidates = bind.execute(
        sa.text(
            "SELECT DISTINCT c.id, c.phone FROM contacts c JOIN messages m ON m.contact_id = c.id"
            " WHERE c.wa_id IS NULL AND c.lid IS NULL AND m.wa_message_id LIKE :pattern"
        ),
        {"pattern": "%@lid%"},
    ).all()
    moves = []
    for contact_id, phone in candidates:
        lid = f"{phone}@lid"
        uses = bind.execute(
            sa.text(
                "SELECT COUNT(*) FROM messages WHERE contact_id = :id"
                " AND wa_message_id LIKE :p ESCAPE '!'"
            ),
            {"id": contact_id, "p": f"%!_{lid}!_%"},
        ).scalar()
        if uses:
            moves.append({"id": contact_id, "lid": lid})
    if moves:
        bind.execute(sa.text("UPDATE contacts SET lid = :lid, phone = NULL WHERE id = :id"), moves)


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lid", sa.String(length=64), nullable=True))
        batch_op.alter_column("phone", existing_type=sa.String(length=20), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_contacts_client_id_lid"), ["client_id", "lid"]
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wa_key_id", sa.String(length=64), nullable=True))

    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wa_key_id", sa.String(length=64), nullable=True))

    _fill_key_ids("messages")
    _fill_key_ids("campaign_recipients")
    _move_lid_phones()

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_messages_session_id_wa_key_id"), ["session_id", "wa_key_id"]
        )
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_recipients_wa_key_id"), ["wa_key_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_recipients_wa_key_id"))
        batch_op.drop_column("wa_key_id")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_messages_session_id_wa_key_id"), type_="unique")
        batch_op.drop_column("wa_key_id")

    # A LID-only contact goes back to its LID digits as its 'phone', as before this revision.
    op.execute(
        "UPDATE contacts SET phone = SUBSTR(lid, 1, INSTR(lid, '@') - 1)"
        " WHERE phone IS NULL AND lid IS NOT NULL"
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_contacts_client_id_lid"), type_="unique")
        batch_op.alter_column("phone", existing_type=sa.String(length=20), nullable=False)
        batch_op.drop_column("lid")
