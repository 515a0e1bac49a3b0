"""model gate: where each learned window came from, session labels, model versions' fate

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("behavior_samples", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="enrollment", nullable=False)
        )
    op.create_table(
        "session_labels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("by_role", sa.String(length=8), nullable=False),
        sa.Column("by_user_id", sa.String(length=36), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["login_sessions.id"],
            name=op.f("fk_session_labels_session_id_login_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_labels")),
    )
    with op.batch_alter_table("session_labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_labels_session_id"), ["session_id"])
        batch_op.create_index(batch_op.f("ix_session_labels_user_id"), ["user_id"])
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column(
            "modality",
            sa.Enum("keystroke", "mouse", name="modality", native_enum=False),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.Column("shadow_windows", sa.Integer(), nullable=False),
        sa.Column("shadow_sum", sa.Float(), nullable=False),
        sa.Column("serving_sum", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_model_versions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_model_versions_user_modality_version",
            ["user_id", "modality", "version"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_model_versions_user_modality_version")
    op.drop_table("model_versions")
    with op.batch_alter_table("session_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_labels_user_id"))
        batch_op.drop_index(batch_op.f("ix_session_labels_session_id"))
    op.drop_table("session_labels")
    with op.batch_alter_table("behavior_samples", schema=None) as batch_op:
        batch_op.drop_column("source")
