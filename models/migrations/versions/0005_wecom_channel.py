"""WeCom binding and each person's chat channel order

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wecom_userid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("wecom_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("wecom_checked_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("channels", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_person_wecom_userid"), ["wecom_userid"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_wecom_userid"))
        batch_op.drop_column("channels")
        batch_op.drop_column("wecom_checked_at")
        batch_op.drop_column("wecom_state")
        batch_op.drop_column("wecom_userid")
