"""parse_amount / format_amount: the forms leads type, and every kind of bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from notifier.core.errors import GuatuError
from notifier.numbers.amounts import AmountError, format_amount, parse_amount, read_amount, spoken_amount


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("3000萬", "30000000"),
        ("3000万", "30000000"),
        ("1.2億", "120000000"),
        ("0.5億元", "50000000"),
        ("850萬元", "8500000"),
        ("2億3000萬", "230000000"),
        ("2亿3000万元", "230000000"),
        ("１２００萬元", "12000000"),
        ("12,000,000", "12000000"),
        ("12,000,000元", "12000000"),
        (" 3000 万 ", "30000000"),
        ("1 200万", "12000000"),
        ("一千二百萬", "12000000"),
        ("三億五千萬", "350000000"),
        ("兩千萬", "20000000"),
        ("两千万", "20000000"),
        ("十萬", "100000"),
        ("十五万", "150000"),
        ("一亿零五百万", "105000000"),
        ("零", "0"),
        ("0", "0"),
        ("0.5万", "5000"),
        ("1234.56元", "1234.56"),
    ],
)
def test_parses(text: str, yuan: str) -> None:
    assert parse_amount(text) == Decimal(yuan)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "请填写金额"),
        ("   ", "请填写金额"),
        ("元", "请填写金额"),
        ("-3000万", "不能为负数"),
        ("负3000万", "不能为负数"),
        ("1e7", "科学计数法"),
        ("1.2E8元", "科学计数法"),
        ("nan", "不是有效金额"),
        ("inf", "不是有效金额"),
        ("2万亿", "有歧义"),
        ("5000000000000", "超过1万亿元"),
        ("约3000万", "无法识别"),
        ("3000万左右", "无法识别"),
        ("3000万 abc", "无法识别"),
        ("1,00,000", "无法识别"),
        ("万", "无法识别"),
        ("2亿3000", "有歧义"),
        ("1.5亿3000万", "有歧义"),
        ("3000万2亿", "有歧义"),
        ("三千五万", "有歧义"),
        ("十十万", "有歧义"),
        ("0.0001元", "分以下"),
    ],
)
def test_refuses_with_an_example(text: str, fragment: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text)
    message = str(caught.value)
    assert fragment in message
    assert "例如:3000万" in message
    assert isinstance(caught.value, GuatuError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("yuan", "zh", "en"),
    [
        ("30000000", "3000.00万元", "30.00 million yuan"),
        ("120000000", "1.20亿元", "120.00 million yuan"),
        ("99999999", "10000.00万元", "100.00 million yuan"),
        ("123456", "12.35万元", "0.12 million yuan"),
        ("0", "0.00万元", "0.00 million yuan"),
        ("350000000", "3.50亿元", "350.00 million yuan"),
    ],
)
def test_formats(yuan: str, zh: str, en: str) -> None:
    assert format_amount(Decimal(yuan)) == zh
    assert format_amount(Decimal(yuan), lang="en") == en


@pytest.mark.parametrize(
    ("yuan", "shown"),
    [
        ("30000000", "30000000"),
        ("123456", "123500"),
        ("120000000", "120000000"),
        ("123456789", "123000000"),
        ("0", "0"),
    ],
)
def test_round_trip_to_displayed_precision(yuan: str, shown: str) -> None:
    assert parse_amount(format_amount(Decimal(yuan))) == Decimal(shown)


# -- read_amount: a reply to a question asked in 万元 -------------------------------------------


@pytest.mark.parametrize(
    ("text", "yuan", "reason"),
    [
        ("3000", Decimal("30000000.00"), "bare"),
        ("3,000", Decimal("30000000.00"), "bare"),
        ("12.5", Decimal("125000.00"), "bare"),
        ("3千万", Decimal("30000000.00"), "mixed"),
        ("1.5千万", Decimal("15000000.00"), "mixed"),
        ("2百万", Decimal("2000000.00"), "mixed"),
        ("约500万", Decimal("5000000.00"), "approximate"),
        ("500万左右", Decimal("5000000.00"), "approximate"),
        ("大约3千万", Decimal("30000000.00"), "approximate"),
        ("3000万", Decimal("30000000.00"), None),
        ("1.2亿", Decimal("120000000.00"), None),
        ("3000元", Decimal("3000.00"), None),
        ("无", Decimal(0), None),
        ("没有", Decimal(0), None),
        ("0", Decimal(0), None),
    ],
)
def test_read_amount_reads_and_says_when_to_ask(text: str, yuan: Decimal, reason: str | None) -> None:
    reading = read_amount(text)
    assert reading.yuan == yuan
    assert reading.reason == reason
    assert (reading.question is None) == (reason is None)


def test_read_amount_asks_back_in_the_leads_words() -> None:
    assert read_amount("3000").question == "“3000”没有单位,按万元理解:是3000万元吗?"
    assert "1500万元" in (read_amount("1.5千万").question or "")
    assert "is it 30 million yuan" in (read_amount("3000", "en").question or "")


@pytest.mark.parametrize("text", ["-3000", "约", "三千五", "1e3", "abc", "3000万左右500", "2000000000"])
def test_read_amount_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(AmountError):
        read_amount(text)


def test_spoken_amount_has_no_trailing_zeros() -> None:
    assert spoken_amount(Decimal("30000000")) == "3000万元"
    assert spoken_amount(Decimal("150000000")) == "1.5亿元"
    assert spoken_amount(Decimal("125000")) == "12.5万元"
