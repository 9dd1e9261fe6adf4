"""digest_runs: the end of each client's last scheduled digest

The period of a scheduled digest began where the previous one ended, kept in memory, and a
digest due while no bot ran (a restart, the seconds of a hand-over to the standby) was never
sent. The row keeps that end across processes.

Downgrade drops the table; nothing else refers to it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_runs",
        sa.Column("client_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_end", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_digest_runs_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_digest_runs")),
    )


def downgrade() -> None:
    op.drop_table("digest_runs")
