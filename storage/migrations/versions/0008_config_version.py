"""config_version: one counter for the caches of clients and AI settings

Every inbound message and AI turn needs its client and the client's AI settings. They are
cached in each process and stay valid while this counter has the value they were read at;
whoever writes a client or AI settings (any process: `waops run`, the CLI) increments it in the
same transaction (storage/config.py). The row is created here with version 0.

Downgrade drops the table; nothing else refers to it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_version")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("config_version")
