"""liveness: replay fingerprints per user, the session's liveness flag

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replay_sketches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column(
            "modality",
            sa.Enum("keystroke", "mouse", name="modality", native_enum=False),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_replay_sketches_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_sketches")),
    )
    with op.batch_alter_table("replay_sketches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_replay_sketches_user_modality_at",
            ["user_id", "modality", "created_at"],
            unique=False,
        )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("liveness", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("liveness")
    with op.batch_alter_table("replay_sketches", schema=None) as batch_op:
        batch_op.drop_index("ix_replay_sketches_user_modality_at")
    op.drop_table("replay_sketches")
