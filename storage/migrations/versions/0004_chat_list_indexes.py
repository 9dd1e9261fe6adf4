"""chat list indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 16:27:37.734920
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types  # noqa: F401  (column types referenced by autogenerate)

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_recipients_contact_id"), ["contact_id"], unique=False
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_direction", sa.String(length=3), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_contacts_client_id_last_direction_last_message_at"),
            ["client_id", "last_direction", "last_message_at"],
            unique=False,
        )

    # Existing chats: the direction of each contact's newest message.
    op.execute(
        "UPDATE contacts SET last_direction = (SELECT m.direction FROM messages m"
        " WHERE m.contact_id = contacts.id ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)"
        " WHERE last_message_at IS NOT NULL"
    )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_client_id_intent_contact_id"),
            ["client_id", "intent", "contact_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_client_id_intent_contact_id"))

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_client_id_last_direction_last_message_at"))
        batch_op.drop_column("last_direction")

    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_recipients_contact_id"))
