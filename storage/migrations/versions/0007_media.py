"""media: what a message's file is, and a campaign's attachment

Messages get the file's facts (mimetype, size, duration, file name), where its bytes are kept
(``media_sha256``: the media store's content address, engine/media_store.py), how far fetching
them got (``media_state``) and, for voice notes and audio, the ``transcript``, which stays out of
``body`` so the caption and what the contact said remain apart. Campaigns get one attachment:
its sha256, kind, mimetype, file name and size.

Existing rows need no data change: a media message stored before this revision keeps its kind
in ``type`` and its caption in ``body``, and gets ``media_state`` 'none', "no file was ever
kept", which is true: waops did not download media before.

Downgrade drops the columns; the files stay under ``<data dir>/media`` (nothing refers to them
any more: delete the folder by hand if the downgrade is meant to stay).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MESSAGE_COLUMNS = (
    "mimetype",
    "size_bytes",
    "duration_s",
    "filename",
    "media_sha256",
    "media_state",
    "transcript",
)
_CAMPAIGN_COLUMNS = ("media_sha256", "media_kind", "media_mimetype", "media_filename", "media_size")


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mimetype", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("size_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("duration_s", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("filename", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("media_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("media_state", sa.String(length=10), server_default="none", nullable=False)
        )
        batch_op.add_column(sa.Column("transcript", storage.types.LongText, nullable=True))
        batch_op.create_index("ix_messages_media_sha256", ["media_sha256"], unique=False)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("media_kind", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("media_mimetype", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("media_filename", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("media_size", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        for column in reversed(_CAMPAIGN_COLUMNS):
            batch_op.drop_column(column)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_media_sha256")
        for column in reversed(_MESSAGE_COLUMNS):
            batch_op.drop_column(column)
