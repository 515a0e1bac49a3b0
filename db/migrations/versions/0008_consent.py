"""consent: each person's consent to behavioral capture, and its withdrawal

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "behavior_consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("given_at", UTCDateTime(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_behavior_consents_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_behavior_consents")),
    )
    with op.batch_alter_table("behavior_consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_behavior_consents_user_given", ["user_id", "given_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("behavior_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_behavior_consents_user_given")
    op.drop_table("behavior_consents")
