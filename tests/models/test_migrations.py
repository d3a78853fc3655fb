"""Alembic migrates an empty database to head on SQLite and PostgreSQL, matching the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from models.db import create_engine
from models.migrate import downgrade, upgrade


async def test_upgrade_from_empty_matches_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
            )
        assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
        assert diff == [], f"models and migrations differ: {diff}"
        await downgrade(engine)
        async with engine.connect() as conn:
            left = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert left <= {"alembic_version"}
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await engine.dispose()


async def test_admins_sharing_a_name_are_renamed_before_names_become_unique(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await upgrade(engine, "0002")
        async with engine.begin() as conn:
            for person_id, name, phone, role in [(1, "张三", "+8613900000001", "admin"), (2, "张三", "+8613900000002", "admin"),
                                                 (3, "张三", "+8613900000003", "lead")]:  # fmt: skip
                await conn.execute(
                    text("INSERT INTO person (id, name, phone, role, language, opted_out, telegram_blocked, created_at)"
                         " VALUES (:id, :name, :phone, :role, 'zh', false, false, CURRENT_TIMESTAMP)"),
                    {"id": person_id, "name": name, "phone": phone, "role": role},
                )  # fmt: skip
        await upgrade(engine)
        async with engine.connect() as conn:
            names = (await conn.execute(text("SELECT id, name FROM person ORDER BY id"))).all()
        assert [tuple(row) for row in names] == [(1, "张三"), (2, "张三#2"), (3, "张三")]
        await downgrade(engine)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await engine.dispose()
