"""delivery truth: provider codes verbatim, prices, pause reasons, parked status callbacks

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "providerstatus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("received_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("providerstatus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_providerstatus_sid"), ["sid"], unique=False)
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pause_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("notice", sa.Text(), nullable=True))
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("price", sa.Numeric(12, 5), nullable=True))
        batch_op.add_column(sa.Column("price_unit", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("price_unit")
        batch_op.drop_column("price")
        batch_op.drop_column("provider_code")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("notice")
        batch_op.drop_column("pause_reason")
    with op.batch_alter_table("providerstatus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_providerstatus_sid"))
    op.drop_table("providerstatus")
