"""admin sessions kept server-side, window counters, unique admin names

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 10:00:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADMIN = sa.text("role = 'admin'")
log = logging.getLogger("alembic.runtime.migration")


def _rename_duplicate_admins() -> None:
    """Before the unique index: an admin who shares a name with an older one becomes "name#id".

    Such an admin could never sign in (the older one was always found first); after the upgrade
    they sign in as "name#id", and the log says so.
    """
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, name FROM person WHERE role = 'admin' ORDER BY name, id")
    ).all()
    seen: set[str] = set()
    for person_id, name in rows:
        if name in seen:
            new_name = f"{name[: 63 - len(str(person_id))]}#{person_id}"
            bind.execute(sa.text("UPDATE person SET name = :name WHERE id = :id"), {"name": new_name, "id": person_id})
            log.warning("admin %s shared the name %r: renamed to %r", person_id, name, new_name)
        seen.add(name)


def upgrade() -> None:
    op.create_table(
        "adminsession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("adminsession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adminsession_person_id"), ["person_id"], unique=False)

    op.create_table(
        "windowcounter",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("windowcounter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_windowcounter_expires_at"), ["expires_at"], unique=False)

    _rename_duplicate_admins()
    op.create_index(
        "uq_person_admin_name", "person", ["name"], unique=True, sqlite_where=ADMIN, postgresql_where=ADMIN
    )


def downgrade() -> None:
    op.drop_index("uq_person_admin_name", table_name="person")
    with op.batch_alter_table("windowcounter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_windowcounter_expires_at"))
    op.drop_table("windowcounter")
    with op.batch_alter_table("adminsession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adminsession_person_id"))
    op.drop_table("adminsession")
