"""submit_report in detail: every stored field, each refusal's reason and text (both languages), the
remaining total over versions, weeks and projects, the deadline's edge, procedure items and the
project dates a report sets."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Channel, ProcedureItem, ProgressReport, Project, Stage
from notifier.core.settings import Settings
from notifier.reporting import reports
from notifier.reporting.reports import ReportError, check_text, report_deadline, submit_report
from tests.notifier.bot_world import World, make_world

WEEK = "2026-W48"  # Mon 23 Nov - Sun 29 Nov 2026; deadline Sat 28 Nov 12:00 Beijing
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # Thu 11:00 Beijing


async def _submit(
    session: AsyncSession, settings: Settings, world: World, **overrides: Any
) -> ProgressReport:
    project = overrides.pop("project", world.projects[0])
    values: dict[str, Any] = {
        "project_id": project.id, "reporter_id": world.lead.id, "week": WEEK, "stage": Stage.NEW,
        "investment": Decimal("1000000"), "procedure_item_ids": [], "blockers": None,
        "channel": Channel.TELEGRAM, "now": NOW,
    }  # fmt: skip
    values.update(overrides)
    return await submit_report(session, settings=settings, **values)


async def _current(session: AsyncSession, project_id: int) -> list[tuple[str, int, bool]]:
    rows = await session.exec(
        select(ProgressReport.week, ProgressReport.version, ProgressReport.is_current)
        .where(ProgressReport.project_id == project_id)
        .order_by(col(ProgressReport.week), col(ProgressReport.version))
    )
    return [(w, v, c) for w, v, c in rows.all()]


async def test_every_field_is_stored_as_given(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    item = world.items[0]
    # 17:30 UTC on Wednesday is already Thursday in Beijing: the project's dates follow the office's day.
    now = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)
    await _submit(session, settings, world, now=now, investment=Decimal("12345678.9"), procedure_item_ids=[item.id],
                  blockers="  用地审批慢\n")  # fmt: skip
    stored = (await session.exec(select(ProgressReport))).one()
    assert (stored.project_id, stored.week, stored.year, stored.week_end) == (
        world.projects[0].id,
        WEEK,
        2026,
        date(2026, 11, 29),
    )
    assert (stored.reporter_id, stored.channel, stored.stage) == (world.lead.id, Channel.TELEGRAM, Stage.NEW)
    assert stored.investment == Decimal("12345678.90")
    assert stored.procedures_completed == 1 and stored.procedure_names == '["立项"]'
    assert stored.blockers == "用地审批慢"
    assert stored.submitted_at.replace(tzinfo=UTC) == now and stored.is_current and stored.version == 1
    assert world.projects[0].actual_start == date(2026, 11, 26)
    assert item.done_on == date(2026, 11, 26)


async def test_no_blockers_are_stored_as_none(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    first = await _submit(session, settings, world, blockers=None)
    second = await _submit(session, settings, world, blockers="   ")
    assert first.blockers is None and second.blockers is None
    assert first.procedure_names == "[]" and first.procedures_completed == 0


async def test_a_new_version_retires_only_its_own_project_and_week(
    session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session)
    p1, p2 = world.projects[0], world.projects[1]
    assert p1.id and p2.id
    await _submit(session, settings, world, project=p1)
    await _submit(session, settings, world, project=p2)
    await _submit(session, settings, world, project=p1, week="2026-W47", channel=Channel.ADMIN)
    await _submit(session, settings, world, project=p1)
    assert await _current(session, p1.id) == [("2026-W47", 1, True), (WEEK, 1, False), (WEEK, 2, True)]
    assert await _current(session, p2.id) == [(WEEK, 1, True)]


async def test_the_remaining_total_counts_current_versions_of_other_weeks_of_this_project(
    session: AsyncSession, settings: Settings
) -> None:
    """P001: total 5亿, 1亿 done before reporting. Week 46 reported 3000万, then corrected to 5000万;
    P002 reported 1亿. Week 48 may take 5亿 - 1亿 - 5000万 = 3.5亿, and again on resubmission."""
    world = await make_world(session)
    p1, p2 = world.projects[0], world.projects[1]
    p2.total_investment = Decimal("500000000")
    session.add(p2)
    await session.commit()
    admin = {"channel": Channel.ADMIN, "reporter_id": world.admin.id}
    await _submit(
        session, settings, world, project=p1, week="2026-W46", investment=Decimal("30000000"), **admin
    )
    await _submit(
        session, settings, world, project=p1, week="2026-W46", investment=Decimal("50000000"), **admin
    )
    await _submit(
        session, settings, world, project=p2, week="2026-W47", investment=Decimal("100000000"), **admin
    )
    await _submit(session, settings, world, project=p1, investment=Decimal("350000000"))
    await _submit(
        session, settings, world, project=p1, investment=Decimal("350000000")
    )  # the week's own excluded
    with pytest.raises(ReportError) as caught:
        await _submit(session, settings, world, project=p1, investment=Decimal("350000000.01"))
    assert caught.value.reason == "over_total"
    assert str(caught.value) == (
        "本周投资3.50亿元超过项目剩余总投资3.50亿元(总投资5.00亿元),请核对后重新填写。"
    )
    with pytest.raises(ReportError) as english:
        await _submit(session, settings, world, project=p1, investment=Decimal("350000000.01"), lang="en")
    assert str(english.value) == (
        "This week's 350.00 million yuan exceeds the project's remaining total 350.00 million yuan "
        "(total 500.00 million yuan); please check."
    )


@pytest.mark.parametrize(
    ("case", "reason", "zh", "en"),
    [
        ("negative", "negative", "投资额不能为负数。", "The investment cannot be negative."),
        ("missing", "no_project", "项目不存在或已停用。", "The project does not exist or is inactive."),
        ("inactive", "no_project", "项目不存在或已停用。", "The project does not exist or is inactive."),
        ("not_yours", "not_yours", "项目“道路改造”不由您负责,不能报送。",
         'You are not the lead of "道路改造" and cannot report for it.'),
        ("no_reporter", "not_yours", "项目“光伏电站”不由您负责,不能报送。",
         'You are not the lead of "光伏电站" and cannot report for it.'),
        ("late", "past_deadline", "2026-W48周的报送已于2026-11-28 12:00截止,不能再提交。如需更正请联系管理员。",
         "Reporting for 2026-W48 closed at 2026-11-28 12:00; ask an administrator for a correction."),
        ("nul", "bad_text", "这段文字含有无法保存的字符(如空字符),请重新输入。",
         "This text holds a character that cannot be stored (such as NUL); please type it again."),
        ("surrogate", "bad_text", "这段文字含有无法保存的字符(如空字符),请重新输入。",
         "This text holds a character that cannot be stored (such as NUL); please type it again."),
    ],
)  # fmt: skip
async def test_each_refusal_says_why_in_the_lead_s_language_and_stores_nothing(
    session: AsyncSession, settings: Settings, case: str, reason: str, zh: str, en: str
) -> None:
    world = await make_world(session)
    if case == "inactive":
        world.projects[0].active = False
        session.add(world.projects[0])
        await session.commit()
    cases: dict[str, dict[str, Any]] = {
        "negative": {"investment": Decimal("-0.01")},
        "missing": {"project_id": 999_999},
        "inactive": {},
        "not_yours": {"project": world.projects[2]},
        "no_reporter": {"reporter_id": None},
        "late": {"now": report_deadline(settings, WEEK) + timedelta(seconds=1)},
        "nul": {"blockers": "用地\x00审批"},
        "surrogate": {"blockers": "用地\ud800审批"},
    }
    overrides = cases[case]
    for lang, message in (("zh", zh), ("en", en)):
        with pytest.raises(ReportError) as caught:
            await _submit(session, settings, world, lang=lang, **overrides)
        assert (caught.value.reason, str(caught.value)) == (reason, message)
    assert (await session.exec(select(ProgressReport))).all() == []


async def test_a_report_at_the_deadline_itself_is_accepted(session: AsyncSession, settings: Settings) -> None:
    world = await make_world(session)
    report = await _submit(session, settings, world, now=report_deadline(settings, WEEK))
    assert report.is_current


def test_check_text_accepts_ordinary_text_and_none() -> None:
    check_text(None)
    check_text("用地审批慢 ✓ 𠀋")
    assert ReportError("x").reason == ""


async def test_only_this_project_s_items_still_open_or_done_this_week_count(
    session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session)
    monday = date(2026, 11, 23)
    done_monday, done_before, still_open = world.items
    done_monday.done_on, done_before.done_on = monday, monday - timedelta(days=1)
    foreign = ProcedureItem(project_id=world.projects[1].id or 0, name="外单位")
    session.add_all([done_monday, done_before, foreign])
    await session.commit()
    ids = [done_monday.id, done_before.id, still_open.id, foreign.id]
    report = await _submit(session, settings, world, procedure_item_ids=ids)
    assert json.loads(report.procedure_names or "") == ["立项", "环评"]
    assert report.procedures_completed == 2
    assert done_monday.done_on == monday and still_open.done_on == date(2026, 11, 26)
    assert foreign.done_on is None


TODAY = date(2026, 11, 26)
EARLIER = date(2025, 4, 1)


@pytest.mark.parametrize(
    ("project_stage", "actual_start", "resumed_on", "reported", "expected_start", "expected_resume"),
    [
        (Stage.PREPARATORY, None, None, Stage.PREPARATORY, None, None),
        (Stage.PREPARATORY, None, None, Stage.NEW, TODAY, None),
        (Stage.NEW, EARLIER, None, Stage.NEW, EARLIER, None),
        (Stage.CONTINUING, None, None, Stage.CONTINUING, None, TODAY),
        (Stage.CONTINUING, EARLIER, EARLIER, Stage.CONTINUING, EARLIER, EARLIER),
        (Stage.CONTINUING, EARLIER, None, Stage.NEW, EARLIER, None),
        (Stage.PREPARATORY, None, None, Stage.CONTINUING, TODAY, None),
        (Stage.PREPARATORY, EARLIER, None, Stage.CONTINUING, EARLIER, None),
        (Stage.NEW, EARLIER, None, Stage.COMPLETED, EARLIER, None),
    ],
)
def test_the_project_dates_a_report_sets(
    project_stage: Stage,
    actual_start: date | None,
    resumed_on: date | None,
    reported: Stage,
    expected_start: date | None,
    expected_resume: date | None,
) -> None:
    project = Project(code="P", name="P", unit_id=1, year=2026, stage=project_stage, actual_start=actual_start,
                      resumed_on=resumed_on)  # fmt: skip
    reports._update_project(project, stage=reported, today=TODAY)
    assert (project.stage, project.actual_start, project.resumed_on) == (
        reported,
        expected_start,
        expected_resume,
    )


def _integrity(message: str) -> IntegrityError:
    return IntegrityError("INSERT INTO progressreport ...", {}, Exception(message))


async def test_a_version_stored_in_between_is_followed_other_integrity_errors_are_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The retry of _store_version, without a second database writer: the first insert fails on the
    one-current-version index (another submission got in between) and the second is stored; any
    other integrity error is not retried."""
    calls: list[dict[str, Any]] = []
    stored = ProgressReport(project_id=1, week=WEEK, year=2026, week_end=date(2026, 11, 29), version=2,
                            channel=Channel.WEB, stage=Stage.NEW)  # fmt: skip

    async def next_version(session: Any, values: dict[str, Any]) -> ProgressReport:
        calls.append(values)
        if len(calls) == 1:
            raise _integrity(f'duplicate key value violates unique constraint "{reports.CURRENT_INDEX}"')
        return stored

    monkeypatch.setattr(reports, "_next_version", next_version)
    assert await reports._store_version(None, {"week": WEEK}) is stored  # type: ignore[arg-type]
    assert calls == [{"week": WEEK}, {"week": WEEK}]

    async def other_failure(session: Any, values: dict[str, Any]) -> ProgressReport:
        calls.append(values)
        raise _integrity('insert or update violates foreign key constraint "progressreport_project_id_fkey"')

    calls.clear()
    monkeypatch.setattr(reports, "_next_version", other_failure)
    with pytest.raises(IntegrityError, match="foreign key"):
        await reports._store_version(None, {"week": WEEK})  # type: ignore[arg-type]
    assert len(calls) == 1
