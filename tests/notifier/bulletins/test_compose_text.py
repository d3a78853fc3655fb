"""The bulletin's texts word for word from given numbers (no database): each kind's SMS in both
languages, the change since the previous bulletin, the shortening order under a budget, the Telegram
HTML, a unit leader's line, what approvers are told was left out, periods and the 已阅 link."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from models import BulletinKind
from notifier.bulletins.compose import (
    ComposedBulletin,
    _ranking_line,
    covered_day,
    describe_dropped,
    link_reserve,
    list_year,
    period_key,
    period_label,
    read_link,
    render_html,
    render_sms,
    unit_lead_line,
)
from notifier.core.settings import Settings, load_settings
from notifier.numbers.rates import (
    ListEntry,
    NotReported,
    Numbers,
    ScopeRates,
    UnitRates,
    WeekActivity,
    rank_units,
)
from notifier.sending.segments import segment_info

SETTINGS = load_settings(
    _env_file=None, holiday_calendar="none", sms_signature="【发改委】", sms_segment_budget=8
)
HEAD = "【发改委】重点项目周通报(6月第4周,截至6月30日):"
OVERALL = "全盟6个项目,开复工率83.3%,手续办结率58.3%,投资完成率45.0%(序时进度50.0%,落后序时5.0个百分点)。"
RANKS = ("投资完成率排名:1阿左旗60.0%、2阿右旗30.0%。开复工率排名:1阿右旗100.0%、2阿左旗75.0%。"
         "手续办结率排名:1阿右旗100.0%、2阿左旗50.0%。")  # fmt: skip
LISTS = "红榜1个:光伏电站。黑榜2个:供水管网(逾期未开工)、<道路>(连续两周未报送)。"


def _numbers() -> Numbers:
    units = [
        UnitRates(
            "ALZQ", "阿拉善左旗", "阿左旗", 1, ScopeRates(4, 3, 5, 10, Decimal("600"), Decimal("1000"))
        ),
        UnitRates("ALYQ", "阿拉善右旗", "阿右旗", 2, ScopeRates(2, 2, 2, 2, Decimal("300"), Decimal("1000"))),
        UnitRates("EJNQ", "额济纳旗", "额旗", 3, ScopeRates(0, 0, 0, 0, Decimal("0"), Decimal("0"))),
    ]
    rank_units(units)
    return Numbers(as_of=date(2026, 6, 30), year=2026, time_schedule=Decimal("0.5"),
                   overall=ScopeRates(6, 5, 7, 12, Decimal("900"), Decimal("2000")), units=units,
                   red_list=[ListEntry(1, "P1", "光伏电站", "ALZQ", "超序时10.0个百分点")],
                   black_list=[ListEntry(2, "P2", "供水管网", "ALYQ", "逾期未开工"),
                               ListEntry(4, "P4", "<道路>", "ALYQ", "连续两周未报送")],
                   report_week="2026-W26", not_reported=[NotReported(3, "P3", "污水厂", "ALZQ", "王伟")],
                   week=WeekActivity("2026-W26", 2, Decimal("12000000"), 3, 5))  # fmt: skip


def _previous() -> dict[str, Any]:
    previous = _numbers().to_json()
    previous["overall"]["start_rate"] = 0.8
    previous["overall"]["investment_rate"] = None
    return previous


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (BulletinKind.WEEKLY, HEAD + OVERALL + "本周新开复工2个,完成投资1200.00万元,办结手续3项。" + RANKS + LISTS
         + "未报送1个:污水厂。"),
        (BulletinKind.PROCEDURES, "【发改委】重点项目手续调度(2026年6月,截至6月30日):" + OVERALL
         + "全盟尚有5项手续未办结。手续办结率排名:1阿右旗100.0%、2阿左旗50.0%。" + LISTS),
        (BulletinKind.INVESTMENT, "【发改委】重点项目开复工和投资调度(2026年6月,截至6月30日):" + OVERALL
         + "投资完成率排名:1阿左旗60.0%、2阿右旗30.0%。开复工率排名:1阿右旗100.0%、2阿左旗75.0%。" + LISTS),
        (BulletinKind.MONTHLY, "【发改委】重点项目月报告(2026年6月,截至6月30日):" + OVERALL + RANKS + LISTS),
    ],
)  # fmt: skip
def test_each_kind_s_sms_word_for_word(kind: BulletinKind, expected: str) -> None:
    assert render_sms(_numbers(), kind=kind, settings=SETTINGS, lang="zh") == (expected, [])


def test_the_change_since_the_previous_bulletin() -> None:
    text, dropped = render_sms(_numbers(), kind=BulletinKind.WEEKLY, settings=SETTINGS, previous=_previous())
    assert dropped == []
    assert text == (HEAD + OVERALL + "较上期:开复工率+3.3个百分点,手续办结率持平,投资完成率—。"
                    + "本周新开复工2个,完成投资1200.00万元,办结手续3项。" + RANKS + LISTS + "未报送1个:污水厂。")  # fmt: skip


def test_the_english_sms_word_for_word() -> None:
    text, dropped = render_sms(_numbers(), kind=BulletinKind.WEEKLY, settings=SETTINGS, lang="en")
    assert dropped == []
    assert text == (
        "【发改委】Key projects weekly bulletin (2026-W26, as of 2026-06-30): 6 projects: start rate 83.3%, "
        "procedure rate 58.3%, investment rate 45.0% (time schedule 50.0%, 5.0 pts behind). This week: 2 started, "
        "12.00 million yuan invested, 3 procedures done. Investment rate ranking: 1 ALZQ 60.0%, 2 ALYQ 30.0%. "
        "Start rate ranking: 1 ALYQ 100.0%, 2 ALZQ 75.0%. Procedure rate ranking: 1 ALYQ 100.0%, 2 ALZQ 50.0%. "
        "Red list 1: 光伏电站. Black list 2: 供水管网 (逾期未开工), <道路> (连续两周未报送). Not reported 1: 污水厂. "
    )
    text, dropped = render_sms(_numbers(), kind=BulletinKind.WEEKLY, settings=SETTINGS, lang="en",
                               previous=_previous())  # fmt: skip
    assert (
        "(time schedule 50.0%, 5.0 pts behind). Since last: start +3.3 pts, procedures unchanged, investment —. "
        in text
    )
    assert dropped == ["missing_names", "red_names", "black_names"]
    assert text.endswith("Red list 1. Black list 2. Not reported 1. ")


@pytest.mark.parametrize(
    ("investment", "zh", "en"),
    [
        ("1100", "超序时5.0个百分点", "5.0 pts ahead"),
        ("1000", "与序时持平", "on schedule"),
        ("900", "落后序时5.0个百分点", "5.0 pts behind"),
        ("0", "落后序时50.0个百分点", "50.0 pts behind"),
    ],
)
def test_the_overall_line_against_the_time_schedule(investment: str, zh: str, en: str) -> None:
    numbers = _numbers()
    numbers.overall = ScopeRates(6, 5, 7, 12, Decimal(investment), Decimal("2000"))
    assert f"(序时进度50.0%,{zh})。" in render_sms(numbers, kind=BulletinKind.MONTHLY, settings=SETTINGS)[0]
    assert f"(time schedule 50.0%, {en})." in render_sms(numbers, kind=BulletinKind.MONTHLY, settings=SETTINGS,
                                                          lang="en")[0]  # fmt: skip


def test_no_investment_plan_reads_no_data() -> None:
    numbers = _numbers()
    numbers.overall = ScopeRates(0, 0, 0, 0, Decimal(0), Decimal(0))
    numbers.red_list, numbers.black_list, numbers.not_reported = [], [], []
    text = render_sms(numbers, kind=BulletinKind.WEEKLY, settings=SETTINGS)[0]
    assert "全盟0个项目,开复工率—,手续办结率—,投资完成率—(序时进度50.0%,暂无数据)。" in text
    assert text.endswith("红榜:无。黑榜:无。未报送:无。")


def _five_units() -> Numbers:
    units = [UnitRates(f"U{i + 1}", f"{name}全称", name, i, ScopeRates(10, 10 - i, 10 - i, 10, Decimal(100 * (i + 1)),
                                                                      Decimal(1000)))
             for i, name in enumerate(["一旗", "二旗", "三旗", "四旗", "五旗"])]  # fmt: skip
    rank_units(units)
    return Numbers(as_of=date(2026, 6, 30), year=2026, time_schedule=Decimal("0.5"),
                   overall=ScopeRates(50, 40, 40, 50, Decimal(1500), Decimal(5000)), units=units,
                   red_list=[ListEntry(i, f"R{i}", f"红榜项目{i}", "U1", "与序时持平") for i in range(3)],
                   black_list=[ListEntry(i, f"B{i}", f"黑榜项目{i}", "U2", "逾期未开工") for i in range(3)],
                   report_week="2026-W26", not_reported=[NotReported(i, f"N{i}", f"未报项目{i}", "U3", None) for i in range(3)],
                   week=WeekActivity("2026-W26", 0, Decimal(0), 0, 0))  # fmt: skip


TAILS = ["tail_procedure", "tail_start", "tail_investment"]


@pytest.mark.parametrize(
    ("budget", "dropped"),
    [
        (8, []),
        (6, []),
        (5, [*TAILS, "missing_names"]),
        (4, [*TAILS, "missing_names", "red_names", "black_names", "rank_procedure"]),
        (3, [*TAILS, "missing_names", "red_names", "black_names", "rank_procedure", "rank_start"]),
        (2, [*TAILS, "missing_names", "red_names", "black_names", "rank_procedure", "rank_start", "week",
             "rank_investment"]),
    ],
)  # fmt: skip
def test_shortening_follows_the_drop_order_until_it_fits(budget: int, dropped: list[str]) -> None:
    settings = SETTINGS.model_copy(update={"sms_segment_budget": budget})
    text, left_out = render_sms(_five_units(), kind=BulletinKind.WEEKLY, settings=settings)
    assert left_out == dropped
    assert segment_info(text).segments <= max(budget, 2)


def test_a_shortened_ranking_keeps_its_first_three_units_and_counts_the_rest() -> None:
    settings = SETTINGS.model_copy(update={"sms_segment_budget": 4})
    text, _ = render_sms(_five_units(), kind=BulletinKind.WEEKLY, settings=settings)
    assert text == (
        "【发改委】重点项目周通报(6月第4周,截至6月30日):全盟50个项目,开复工率80.0%,手续办结率80.0%,"
        "投资完成率30.0%(序时进度50.0%,落后序时20.0个百分点)。本周新开复工0个,完成投资0.00万元,办结手续0项。"
        "投资完成率排名:1五旗50.0%、2四旗40.0%、3三旗30.0%等(其余2个单位略)。"
        "开复工率排名:1一旗100.0%、2二旗90.0%、3三旗80.0%等(其余2个单位略)。红榜3个。黑榜3个。未报送3个。"
    )


def test_a_kind_without_a_ranking_does_not_say_its_tail_was_left_out() -> None:
    settings = SETTINGS.model_copy(update={"sms_segment_budget": 3})
    text, dropped = render_sms(_five_units(), kind=BulletinKind.PROCEDURES, settings=settings)
    assert "tail_start" not in dropped and "tail_investment" not in dropped
    assert dropped[0] == "tail_procedure" and "rank_procedure" not in dropped
    assert "missing_names" not in dropped  # a dispatch shows no 未报送 list to shorten
    assert text.endswith(
        "全盟尚有10项手续未办结。手续办结率排名:1一旗100.0%、2二旗90.0%、3三旗80.0%等(其余2个单位略)。红榜3个。黑榜3个。"
    )


def test_the_reserved_link_counts_against_the_budget() -> None:
    settings = SETTINGS.model_copy(update={"sms_segment_budget": 6})
    numbers = _five_units()
    assert render_sms(numbers, kind=BulletinKind.WEEKLY, settings=settings)[1] == []
    _, dropped = render_sms(numbers, kind=BulletinKind.WEEKLY, settings=settings, reserve="链" * 67)
    assert dropped == [*TAILS, "missing_names"]


def test_the_telegram_html_word_for_word() -> None:
    assert render_html(_numbers(), kind=BulletinKind.WEEKLY, lang="zh", previous=_previous()) == (
        "<b>重点项目周通报</b> 2026-W26\n"
        + OVERALL
        + "\n较上期:开复工率+3.3个百分点,手续办结率持平,投资完成率—。\n"
        "\n<b>各单位三率与排名</b>\n"
        "1. 阿拉善左旗:开复工率 75.0%,手续办结率 50.0%,投资完成率 60.0% –\n"
        "2. 阿拉善右旗:开复工率 100.0%,手续办结率 100.0%,投资完成率 30.0% –\n"
        "—. 额济纳旗:开复工率 —,手续办结率 —,投资完成率 — \n"
        "\n<b>红榜</b>(1)\n• P1 光伏电站:超序时10.0个百分点\n"
        "\n<b>黑榜</b>(2)\n• P2 供水管网:逾期未开工\n• P4 &lt;道路&gt;:连续两周未报送\n"
        "\n<b>未报送</b>(1)\n• P3 污水厂"
    )


def test_the_telegram_html_cuts_long_lists_and_says_none() -> None:
    numbers = _numbers()
    numbers.black_list = [ListEntry(i, f"B{i:02d}", f"项目{i}", "ALYQ", "逾期未开工") for i in range(27)]
    numbers.red_list, numbers.not_reported = [], []
    html = render_html(numbers, kind=BulletinKind.MONTHLY, lang="en", previous=None)
    assert html.startswith("<b>Key projects monthly report</b> 2026-06\n6 projects: start rate 83.3%")
    assert "Since last" not in html
    assert "\n<b>Black list</b>(27)\n• B00 项目0:逾期未开工\n" in html
    assert "• B24 项目24:逾期未开工\n… +2\n" in html and "B25" not in html
    assert html.endswith(
        "\n<b>Red list</b>(0)\nnone\n\n<b>Black list</b>(27)\n"
        + "\n".join(
            [f"• B{i:02d} 项目{i}:逾期未开工" for i in range(25)]
            + ["… +2", "", "<b>Not reported</b>(0)", "none"]
        )
    )


def test_a_unit_leader_s_line() -> None:
    numbers = _numbers()
    assert unit_lead_line(numbers.units[0], "zh") == (
        "阿拉善左旗:开复工率75.0%(第2名),手续办结率50.0%(第2名),投资完成率60.0%(第1名)。"
    )
    assert (
        unit_lead_line(numbers.units[2], "en") == "EJNQ: start — (#—), procedures — (#—), investment — (#—). "
    )


def test_what_approvers_are_told_was_left_out() -> None:
    assert describe_dropped(["tail_procedure", "week"], "zh") == "手续办结率排名前3名以后的单位、本周进展"
    assert describe_dropped(["tail_procedure", "week"], "en") == (
        "units after the first 3 of the procedure ranking, the week's progress"
    )
    assert describe_dropped([], "zh") == ""


def test_the_longest_variant_and_its_json() -> None:
    numbers = _numbers()
    composed = ComposedBulletin(kind=BulletinKind.WEEKLY, as_of=numbers.as_of, period_key="2026-W26",
                                numbers=numbers, sms="【发改委】通用稿", unit_sms={"ALZQ": "【发改委】乙旗稿更长一些",
                                "ALYQ": "【发改委】甲旗稿更长一些"}, html="", dropped=["week"],
                                unit_dropped={"ALZQ": ["tail_start"], "ALYQ": ["red_names"]},
                                link_reserve="链" * 60)  # fmt: skip
    assert composed.copies() == {"all": "【发改委】通用稿", "ALZQ": "【发改委】乙旗稿更长一些",
                                 "ALYQ": "【发改委】甲旗稿更长一些"}  # fmt: skip
    # Two unit copies of equal cost and length: the later group code is named (not the later text).
    assert composed.longest() == {"group": "ALZQ", "sms": "【发改委】乙旗稿更长一些", "characters": 72,
                                  "segments": 2, "dropped": ["tail_start"],
                                  "dropped_text": "开复工率排名前3名以后的单位"}  # fmt: skip
    data = composed.to_json()
    assert (data["kind"], data["period"], data["sms"], data["sms_segments"], data["dropped"]) == (
        "weekly",
        "2026-W26",
        "【发改委】通用稿",
        1,
        ["week"],
    )
    assert data["longest"]["group"] == "ALZQ" and data["unit_lines"] == {}
    assert data["change"] == dict.fromkeys(["start_rate", "procedure_rate", "investment_rate"])
    assert set(data["rank_movement"]) == {"ALZQ", "ALYQ", "EJNQ"}
    composed.previous = _previous()
    data = composed.to_json()
    assert data["change"] == {"start_rate": 3.3, "procedure_rate": 0.0, "investment_rate": None}
    assert data["rank_movement"]["ALZQ"] == {"start_rate": "–", "procedure_rate": "–", "investment_rate": "–"}
    generic = ComposedBulletin(kind=BulletinKind.WEEKLY, as_of=numbers.as_of, period_key="2026-W26",
                               numbers=numbers, sms="【发改委】" + "长" * 70, unit_sms={"ALZQ": "【发改委】短"}, html="",
                               dropped=["week"], unit_dropped={"ALZQ": ["tail_start"]})  # fmt: skip
    assert generic.longest()["group"] == "all" and generic.longest()["dropped"] == ["week"]
    assert generic.longest()["segments"] == 2


@pytest.mark.parametrize(
    ("kind", "as_of", "key", "zh"),
    [
        (BulletinKind.MONTHLY, date(2026, 12, 1), "2026-11", "2026年11月"),
        (BulletinKind.MONTHLY, date(2027, 1, 1), "2026-12", "2026年12月"),
        (BulletinKind.PROCEDURES, date(2026, 12, 10), "2026-12", "2026年12月"),
        (BulletinKind.WEEKLY, date(2026, 12, 2), "2026-W49", "12月第1周"),
        (BulletinKind.WEEKLY, date(2027, 1, 1), "2026-W53", "12月第5周"),
    ],
)
def test_periods(kind: BulletinKind, as_of: date, key: str, zh: str) -> None:
    assert period_key(kind, as_of) == key
    assert period_label(kind, key, "zh") == zh and period_label(kind, key, "en") == key


def test_the_list_year_of_a_january_bulletin() -> None:
    settings = load_settings(_env_file=None, holiday_calendar="none")
    assert list_year(BulletinKind.WEEKLY, date(2027, 1, 2), settings) == 2026  # reports week 2026-W53
    assert list_year(BulletinKind.WEEKLY, date(2027, 1, 11), settings) == 2027
    assert (
        list_year(BulletinKind.MONTHLY, covered_day(BulletinKind.MONTHLY, date(2027, 1, 1)), settings) == 2026
    )
    assert list_year(BulletinKind.INVESTMENT, date(2027, 1, 20), settings) == 2027


def _linked(**values: Any) -> Settings:
    return load_settings(_env_file=None, secret_key="test-secret-key-not-for-production", **values)


def test_the_read_link_and_its_reserve() -> None:
    settings = _linked(public_base_url="https://guatu.alsm.gov.cn/")
    link = read_link(settings, 12, 34)
    assert link.startswith(" 已阅请点 https://guatu.alsm.gov.cn/r/12/34/") and "//r/" not in link
    assert read_link(settings, 12, None) == ""
    assert read_link(_linked(), 12, 34) == ""  # no public address
    assert read_link(load_settings(_env_file=None, public_base_url="https://x.cn"), 12, 34) == ""  # no secret
    reserve = link_reserve(settings)
    assert reserve.startswith(" 已阅请点 https://guatu.alsm.gov.cn/r/9999999/9999999/")
    assert len(reserve) == len(read_link(settings, 9_999_999, 9_999_999)) > len(link)
    assert link_reserve(_linked()) == ""


def test_english_texts_of_empty_rankings_lists_and_the_procedures_dispatch() -> None:
    numbers = _numbers()
    numbers.overall = ScopeRates(6, 5, 7, 12, Decimal(0), Decimal(0))
    numbers.units = []
    numbers.red_list, numbers.black_list, numbers.not_reported = [], [], []
    text, _ = render_sms(numbers, kind=BulletinKind.PROCEDURES, settings=SETTINGS, lang="en")
    assert text == (
        "【发改委】Key projects procedures dispatch (2026-06, as of 2026-06-30): 6 projects: start rate 83.3%, "
        "procedure rate 58.3%, investment rate — (time schedule 50.0%, no data). 5 procedures still outstanding. "
        "Procedure rate ranking: no data. Red list: none. Black list: none. "
    )


def test_half_a_point_ahead_is_ahead() -> None:
    numbers = _numbers()
    numbers.overall = ScopeRates(6, 5, 7, 12, Decimal(1010), Decimal(2000))
    assert (
        "(序时进度50.0%,超序时0.5个百分点)。"
        in render_sms(numbers, kind=BulletinKind.MONTHLY, settings=SETTINGS)[0]
    )


def test_a_ranking_of_exactly_three_units_is_not_said_to_be_cut() -> None:
    numbers = _five_units()
    assert _ranking_line(numbers, "investment_rate", "en", keep=3) == (
        "Investment rate ranking: 1 U5 50.0%, 2 U4 40.0%, 3 U3 30.0% (and 2 more units). "
    )
    numbers.units = numbers.units[:3]
    assert (
        _ranking_line(numbers, "start_rate", "zh", keep=3)
        == "开复工率排名:1一旗100.0%、2二旗90.0%、3三旗80.0%。"
    )


def _ascii_numbers() -> Numbers:
    numbers = _five_units()
    numbers.red_list, numbers.black_list, numbers.not_reported = [], [], []
    return numbers


def test_a_text_of_exactly_the_budget_s_length_is_kept_whole() -> None:
    """n GSM-7 segments hold n × 153 characters: a text of exactly that length fits (nothing is left
    out, not even by the quick length check), one more character does not."""
    settings = SETTINGS.model_copy(update={"sms_signature": "NDRC: "})
    numbers = _ascii_numbers()
    base, _ = render_sms(numbers, kind=BulletinKind.MONTHLY, settings=settings, lang="en")
    assert segment_info(base).encoding == "GSM-7"
    budget = len(base) // 153 + 1
    settings = settings.model_copy(update={"sms_segment_budget": budget})
    lead = "x" * (budget * 153 - len(base))
    text, dropped = render_sms(numbers, kind=BulletinKind.MONTHLY, settings=settings, lang="en", lead=lead)
    assert (len(text), segment_info(text).segments, dropped) == (budget * 153, budget, [])
    _, dropped = render_sms(numbers, kind=BulletinKind.MONTHLY, settings=settings, lang="en", lead=lead + "x")
    assert dropped != []


def test_the_html_without_a_previous_bulletin_and_at_the_list_limit() -> None:
    numbers = _numbers()
    numbers.black_list = [ListEntry(i, f"B{i:02d}", f"项目{i}", "ALYQ", "逾期未开工") for i in range(25)]
    html = render_html(numbers, kind=BulletinKind.WEEKLY, lang="zh", previous=None)
    assert "\n1. 阿拉善左旗:开复工率 75.0%,手续办结率 50.0%,投资完成率 60.0% \n" in html
    assert "• B24 项目24:逾期未开工\n\n<b>未报送</b>" in html and "… +" not in html
    english = render_html(numbers, kind=BulletinKind.WEEKLY, lang="en", previous=None)
    assert (
        "\n<b>Units: rates and ranks</b>\n1. 阿拉善左旗: start 75.0%, procedures 50.0%, investment 60.0% \n"
        in english
    )
