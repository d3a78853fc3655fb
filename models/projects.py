"""Projects, their procedure items and milestones, weekly prompts and progress reports."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.base import money_field, ts_field
from models.enums import Channel, Stage


class ProjectBase(SQLModel):
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    # The year whose list of key projects this project belongs to.
    year: int = Field(index=True)
    stage: Stage = Field(sa_type=String(16))
    total_investment: Decimal = money_field()
    annual_plan: Decimal = money_field()
    # Investment completed this year before weekly reporting began (from the office's list).
    ytd_base: Decimal = money_field()
    planned_start: date | None = None
    # First start of construction (may be in an earlier year for a continuing project).
    actual_start: date | None = None
    # For a continuing project: the day construction resumed this year (复工).
    resumed_on: date | None = None
    procedures_required: int = 0
    # Procedures completed before weekly reporting began.
    procedures_base: int = 0
    lead_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    league_leader_id: int | None = Field(default=None, foreign_key="person.id")
    unit_leader_id: int | None = Field(default=None, foreign_key="person.id")
    department_contact_id: int | None = Field(default=None, foreign_key="person.id")
    active: bool = True


class Project(ProjectBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = ts_field(default_now=True)
    updated_at: datetime = ts_field(default_now=True)


class ProcedureItem(SQLModel, table=True):
    """A named approval a project needs (立项, 用地, 环评, ...); offered to the lead when reporting."""

    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=64)
    done_on: date | None = None


class Milestone(SQLModel, table=True):
    """A reverse-scheduled milestone (倒排工期)."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    title: str = Field(max_length=200)
    due_date: date
    done_date: date | None = None


class WeekPrompt(SQLModel, table=True):
    """The lead was asked for this project's report for this ISO week (defines "missed a report")."""

    __table_args__ = (UniqueConstraint("project_id", "week"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    week: str = Field(max_length=8, index=True)  # ISO week, "2026-W47"
    prompted_at: datetime = ts_field(default_now=True)
    deadline: datetime = ts_field(nullable=False)
    reminded_at: datetime | None = ts_field()


class ProgressReport(SQLModel, table=True):
    """One version of a project's weekly report. Exactly one version per project and week is current."""

    __table_args__ = (
        Index(
            "uq_report_current",
            "project_id",
            "week",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
        Index("ix_report_year_current", "year", "is_current", "project_id"),
        # Any version that arrived by the deadline counts as reported: one index read per prompt.
        Index("ix_report_project_week", "project_id", "week", "submitted_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    week: str = Field(max_length=8)  # ISO week, "2026-W47"
    year: int  # ISO year of the week
    # Last day of the ISO week (Sunday): reports count toward rates "as of" dates on or after it.
    week_end: date
    reporter_id: int | None = Field(default=None, foreign_key="person.id")
    channel: Channel = Field(sa_type=String(16))
    investment: Decimal = money_field()
    procedures_completed: int = 0
    procedure_names: str | None = Field(default=None, sa_type=Text)  # JSON list of names
    stage: Stage = Field(sa_type=String(16))
    blockers: str | None = Field(default=None, sa_type=Text)
    submitted_at: datetime = ts_field(default_now=True)
    is_current: bool = True
    version: int = 1
