"""account integrity: step-up, code counters, known devices, security notices, freeze, DPoP

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_PURPOSES = ("login", "reauth", "totp_setup")
NEW_PURPOSES = (*OLD_PURPOSES, "step_up", "registration", "email_change")


def upgrade() -> None:
    op.create_table(
        "known_devices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_known_devices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_devices")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_known_devices_token_hash")),
    )
    with op.batch_alter_table("known_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_known_devices_user_id"), ["user_id"], unique=False)

    op.create_table(
        "account_notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=False),
        sa.Column("link_hash", sa.String(length=64), nullable=True),
        sa.Column("link_expires_at", UTCDateTime(), nullable=True),
        sa.Column("link_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_notices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_notices")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_account_notices_link_hash")),
    )
    with op.batch_alter_table("account_notices", schema=None) as batch_op:
        batch_op.create_index("ix_account_notices_user_at", ["user_id", "at"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=64),
            type_=sa.String(length=255),
            existing_nullable=True,
        )
        batch_op.add_column(
            sa.Column("failed_codes", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("codes_locked_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("frozen_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("email_confirmed_at", UTCDateTime(), nullable=True))
    # Accounts that exist already were made by an operator or an earlier sign-up: confirmed.
    op.execute("UPDATE users SET email_confirmed_at = created_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("failed_codes", server_default=None, existing_type=sa.Integer())

    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "ended_by",
                sa.Enum("owner", "admin", "system", name="ended_by", native_enum=False),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("stepped_up_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("failed_codes", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("device_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("dpop_jkt", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_login_sessions_device_id_known_devices"),
            "known_devices",
            ["device_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.alter_column("failed_codes", server_default=None, existing_type=sa.Integer())

    with op.batch_alter_table("otp_challenges", schema=None) as batch_op:
        batch_op.alter_column(
            "purpose",
            existing_type=sa.Enum(*OLD_PURPOSES, name="purpose", native_enum=False),
            type_=sa.Enum(*NEW_PURPOSES, name="purpose", native_enum=False),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("target", sa.String(length=320), nullable=True))


def downgrade() -> None:
    op.execute(
        "DELETE FROM otp_challenges WHERE purpose IN ('step_up', 'registration', 'email_change')"
    )
    with op.batch_alter_table("otp_challenges", schema=None) as batch_op:
        batch_op.drop_column("target")
        batch_op.alter_column(
            "purpose",
            existing_type=sa.Enum(*NEW_PURPOSES, name="purpose", native_enum=False),
            type_=sa.Enum(*OLD_PURPOSES, name="purpose", native_enum=False),
            existing_nullable=False,
        )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_login_sessions_device_id_known_devices"), type_="foreignkey"
        )
        batch_op.drop_column("dpop_jkt")
        batch_op.drop_column("device_id")
        batch_op.drop_column("failed_codes")
        batch_op.drop_column("stepped_up_at")
        batch_op.drop_column("ended_by")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_confirmed_at")
        batch_op.drop_column("frozen_at")
        batch_op.drop_column("codes_locked_at")
        batch_op.drop_column("failed_codes")
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=255),
            type_=sa.String(length=64),
            existing_nullable=True,
        )
    with op.batch_alter_table("account_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_account_notices_user_at")
    op.drop_table("account_notices")
    with op.batch_alter_table("known_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_devices_user_id"))
    op.drop_table("known_devices")
