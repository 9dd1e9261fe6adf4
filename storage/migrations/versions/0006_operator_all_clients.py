"""operators: explicit all_clients

An operator used to see every client when it had no ``operator_clients`` rows, and those rows
cascade away with their client: deleting a scoped operator's last client made it global.
``all_clients`` now says it. Existing operators without scope rows get True (what they had),
the others False.

Downgrade: before this revision no rows meant every client, so an operator with
``all_clients`` False and no rows left (it sees nothing) is removed with its subscriptions,
and what waits for it in the outbox is failed, rather than made global. Deliveries ``dead``
or ``cancelled`` become ``failed``, the only final state the older outbox knows but ``sent``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNSCOPED = "NOT EXISTS (SELECT 1 FROM operator_clients oc WHERE oc.operator_id = operators.id)"


def upgrade() -> None:
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("all_clients", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.get_bind().execute(
        sa.text(f"UPDATE operators SET all_clients = :yes WHERE {_UNSCOPED}"), {"yes": True}
    )


def downgrade() -> None:
    bind = op.get_bind()
    # SQLite runs migrations with foreign keys off (storage/migrate.py): no cascade, so the
    # rows that refer to these operators go first, explicitly.
    orphans = f"SELECT id, platform_id FROM operators WHERE all_clients = :no AND {_UNSCOPED}"
    for operator_id, platform_id in bind.execute(sa.text(orphans), {"no": False}).all():
        params = {"id": operator_id, "chat": platform_id}
        bind.execute(
            sa.text(
                "UPDATE alert_deliveries SET status = 'failed', last_error = 'operator removed'"
                " WHERE status = 'pending' AND chat_ref = :chat"
            ),
            params,
        )
        bind.execute(sa.text("DELETE FROM alert_subscriptions WHERE operator_id = :id"), params)
        bind.execute(sa.text("DELETE FROM operators WHERE id = :id"), params)
    op.execute(
        "UPDATE alert_deliveries SET status = 'failed' WHERE status IN ('dead', 'cancelled')"
    )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_column("all_clients")
