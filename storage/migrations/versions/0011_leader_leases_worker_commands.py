"""leader_leases and worker_commands: the active `waops bot`, and what it asks of workers

In a split deployment (issue 17) one `waops bot` is active at a time: it holds the `bot` row
of `leader_leases` (a standby waits for it to expire) and keeps there the last engine event it
published, so the next holder goes on from it. Commands that act on a number (`/pair`,
`/reply`, ...) are rows of `worker_commands` that the worker owning the session takes and
answers (storage/repos/worker_commands.py, engine/remote.py).

Downgrade drops both tables; nothing else refers to them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leader_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("cursor", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leader_leases")),
    )
    op.create_table(
        "worker_commands",
        sa.Column("id", storage.types.BigId, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("args", storage.types.LongText, nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("taken_by", sa.String(length=100), nullable=True),
        sa.Column("taken_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("done_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("result", storage.types.LongText, nullable=True),
        sa.Column("error", sa.String(length=60), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["wa_sessions.id"],
            name=op.f("fk_worker_commands_session_id_wa_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_commands")),
    )
    op.create_index(
        op.f("ix_worker_commands_session_id_taken_at"),
        "worker_commands",
        ["session_id", "taken_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_worker_commands_created_at"), "worker_commands", ["created_at"], unique=False
    )


def downgrade() -> None:
    # The table goes with its indexes. Dropping the (session_id, taken_at) index first fails on
    # MySQL/MariaDB (error 1553): it is the index that backs the foreign key on session_id.
    op.drop_table("worker_commands")
    op.drop_table("leader_leases")
