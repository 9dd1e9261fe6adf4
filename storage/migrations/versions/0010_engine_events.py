"""engine_events: what the engine told its bus, for the operator side in another process

In a split deployment (issue 17) the workers' events (QR codes, state changes, campaign
progress, messages stored) reach `waops bot` through this table: a worker appends them, the bot
follows them by id (storage/repos/event_log.py, engine/relay.py). Old rows are pruned.

Downgrade drops the table; nothing else refers to it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engine_events",
        sa.Column("id", storage.types.BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("payload", storage.types.LongText, nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_events")),
    )
    op.create_index(
        op.f("ix_engine_events_created_at"), "engine_events", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_engine_events_created_at"), table_name="engine_events")
    op.drop_table("engine_events")
