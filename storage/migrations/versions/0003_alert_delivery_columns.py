"""alert deliveries: buttons and attachment columns, long text, head-of-chat index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 16:18:42.846875

Buttons and attachments used to be packed into `text` after a "\\x1e" separator (base64 in
JSON), which capped files at what a TEXT column holds. Rows in that packed form are moved into
the new columns; a row carrying both an image and a file (never written by the bot) stays
packed, and the outbox still reads that form.
"""

import base64
import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENVELOPE = "\x1e"
BATCH = 100  # rows read at a time: packed rows may each hold up to 64 KB of base64

deliveries = sa.table(
    "alert_deliveries",
    sa.column("id", sa.Integer()),
    sa.column("text", sa.Text()),
    sa.column("buttons", sa.JSON(none_as_null=True)),
    sa.column("attachment_kind", sa.String()),
    sa.column("attachment_name", sa.String()),
    sa.column("attachment", sa.LargeBinary()),
)


def upgrade() -> None:
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buttons", sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column("attachment_kind", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("attachment_name", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "attachment",
                sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"),
                nullable=True,
            )
        )
        batch_op.create_index(
            batch_op.f("ix_alert_deliveries_status_chat_ref_id"),
            ["status", "chat_ref", "id"],
            unique=False,
        )
    _alter_text(sa.Text(), storage.types.LongText)
    _unpack()


def downgrade() -> None:
    """Packs buttons and attachments back into `text`; on MariaDB a row that no longer fits a
    TEXT column stops the downgrade rather than being cut."""
    _pack()
    _alter_text(storage.types.LongText, sa.Text())
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_status_chat_ref_id"))
        batch_op.drop_column("attachment")
        batch_op.drop_column("attachment_name")
        batch_op.drop_column("attachment_kind")
        batch_op.drop_column("buttons")


def _alter_text(old: Any, new: Any) -> None:
    # Both types are TEXT on SQLite, where altering would only rebuild the table.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "alert_deliveries", "text", existing_type=old, type_=new, existing_nullable=False
        )


def _rows(where: Any) -> Iterator[sa.Row[Any]]:
    bind = op.get_bind()
    ids = list(bind.scalars(sa.select(deliveries.c.id).where(where).order_by(deliveries.c.id)))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        yield from bind.execute(sa.select(deliveries).where(deliveries.c.id.in_(chunk))).all()


def _unpack() -> None:
    bind = op.get_bind()
    for row in _rows(deliveries.c.text.contains(ENVELOPE)):
        text, _, extra_json = row.text.partition(ENVELOPE)
        extra = json.loads(extra_json)
        image, data, name = extra.get("img"), extra.get("fd"), extra.get("fn")
        if image and data is not None:
            continue
        values: dict[str, Any] = {"text": text, "buttons": extra.get("b") or None}
        if image:
            values.update(attachment_kind="image", attachment=base64.b64decode(image))
        elif data is not None:
            values.update(
                attachment_kind="file",
                attachment_name=name[:200] if name else None,
                attachment=base64.b64decode(data),
            )
        bind.execute(deliveries.update().where(deliveries.c.id == row.id).values(**values))


def _pack() -> None:
    bind = op.get_bind()
    has_extra = sa.or_(deliveries.c.buttons.is_not(None), deliveries.c.attachment_kind.is_not(None))
    for row in _rows(has_extra):
        extra: dict[str, Any] = {}
        if row.buttons:
            extra["b"] = row.buttons
        if row.attachment_kind == "image" and row.attachment is not None:
            extra["img"] = base64.b64encode(row.attachment).decode("ascii")
        elif row.attachment_kind == "file" and row.attachment is not None:
            extra["fn"] = row.attachment_name or "waops.txt"
            extra["fd"] = base64.b64encode(row.attachment).decode("ascii")
        if extra:
            packed = f"{row.text.replace(ENVELOPE, ' ')}{ENVELOPE}{json.dumps(extra)}"
            bind.execute(deliveries.update().where(deliveries.c.id == row.id).values(text=packed))
