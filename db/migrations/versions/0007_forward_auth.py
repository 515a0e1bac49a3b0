"""forward auth: cookies that let a session's browser through a reverse proxy

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-05 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forward_auth_cookies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("cookie_hash", sa.String(length=64), nullable=False),
        sa.Column("dpop_jkt", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["login_sessions.id"],
            name=op.f("fk_forward_auth_cookies_session_id_login_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forward_auth_cookies")),
        sa.UniqueConstraint("cookie_hash", name=op.f("uq_forward_auth_cookies_cookie_hash")),
    )
    with op.batch_alter_table("forward_auth_cookies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forward_auth_cookies_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("forward_auth_cookies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forward_auth_cookies_session_id"))
    op.drop_table("forward_auth_cookies")
