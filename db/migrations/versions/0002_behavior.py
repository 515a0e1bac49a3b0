"""behavior profiles and samples

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 12:18:01.254882
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "behavior_profiles",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column(
            "mode",
            sa.Enum("enrollment", "verification", name="behavior_mode", native_enum=False),
            nullable=False,
        ),
        sa.Column("keystroke_model_version", sa.Integer(), nullable=True),
        sa.Column("mouse_model_version", sa.Integer(), nullable=True),
        sa.Column("last_trained_at", UTCDateTime(), nullable=True),
        sa.Column("measured", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_behavior_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_behavior_profiles")),
    )
    op.create_table(
        "behavior_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column(
            "modality",
            sa.Enum("keystroke", "mouse", name="modality", native_enum=False),
            nullable=False,
        ),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("schema_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_behavior_samples_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_behavior_samples")),
    )
    with op.batch_alter_table("behavior_samples", schema=None) as batch_op:
        batch_op.create_index(
            "ix_behavior_samples_user_modality", ["user_id", "modality", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("behavior_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_behavior_samples_user_modality")

    op.drop_table("behavior_samples")
    op.drop_table("behavior_profiles")
