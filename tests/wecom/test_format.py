"""Chat messages in WeCom's shapes: plain text from Telegram HTML, the 2048-byte limit, button cards."""

from __future__ import annotations

import pytest

from wecom.format import (
    MAX_BUTTONS,
    TEXT_LIMIT_BYTES,
    button_card,
    chat_messages,
    plain_text,
    split_text,
)


@pytest.mark.parametrize(
    ("html", "text"),
    [("<b>通报待审核</b>(编号3)", "通报待审核(编号3)"), ("a &amp; b &lt;c&gt;", "a & b <c>"),
     ('看<a href="https://x.cn/r/1?a=1&amp;b=2">链接</a>', '看<a href="https://x.cn/r/1?a=1&amp;b=2">链接</a>'),
     ("<i>x</i><br>y", "x\ny"), ("  padded\n", "padded")],
)  # fmt: skip
def test_plain_text(html: str, text: str) -> None:
    assert plain_text(html) == text


@pytest.mark.parametrize(
    "text",
    ["短", "汉" * 2000, ("一行字" * 100 + "\n") * 20, "x" * 5000, "\n".join(["a" * 2047, "b"]), "🙂" * 700],
)
def test_split_text_keeps_everything_under_the_limit(text: str) -> None:
    chunks = split_text(text)
    assert all(len(c.encode()) <= TEXT_LIMIT_BYTES for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")


def test_split_text_cuts_between_lines_when_they_fit() -> None:
    lines = [f"第{i}行" + "字" * 200 for i in range(10)]
    chunks = split_text("\n".join(lines))
    assert len(chunks) > 1
    assert all(chunk.split("\n")[0].startswith("第") for chunk in chunks)


def test_short_message_with_buttons_is_one_card() -> None:
    [message] = chat_messages(
        "<b>通报(编号3)</b>\n请审核", [[("✅ 同意发送", "bd:3:1"), ("❌ 驳回", "bd:3:0")]]
    )
    card = message["template_card"]
    assert message["msgtype"] == "template_card" and card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "通报(编号3)" and card["sub_title_text"] == "请审核"
    assert [(b["text"], b["key"]) for b in card["button_list"]] == [
        ("✅ 同意发送", "bd:3:1"),
        ("❌ 驳回", "bd:3:0"),
    ]


def test_long_message_with_buttons_is_text_then_card() -> None:
    text = "<b>第47周通报</b>\n" + "\n".join(f"单位{i}:开复工率{i}%" for i in range(300))
    messages = chat_messages(text, [[("已阅", "rd:9")]], hint="请点击下方按钮")
    assert [m["msgtype"] for m in messages[:-1]] == ["text"] * (len(messages) - 1) and len(messages) > 2
    assert "单位299" in messages[-2]["text"]["content"]
    card = messages[-1]["template_card"]
    assert card["main_title"] == {"title": "第47周通报", "desc": "请点击下方按钮"}
    assert card["button_list"] == [{"text": "已阅", "style": 1, "key": "rd:9"}]


def test_cards_get_unique_task_ids() -> None:
    ids = {button_card(title="t", subtitle="", buttons=[[("a", "k")]])["task_id"] for _ in range(100)}
    assert len(ids) == 100 and all(len(i) <= 128 and i.replace("-", "").isalnum() for i in ids)


@pytest.mark.parametrize("count", [0, MAX_BUTTONS + 1])
def test_a_card_holds_one_to_six_buttons(count: int) -> None:
    with pytest.raises(ValueError):
        button_card(title="t", subtitle="", buttons=[[(str(i), str(i)) for i in range(count)]])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_conversation_keyboards_fit_button_cards(lang: str) -> None:
    """The stage choice, the amount asked back and the confirm step each fit one card, with the
    callback data the Telegram keyboards carry; labels stay within WeCom's suggested length."""
    from notifier.reporting.conversation import amount_buttons, confirm_buttons, stage_buttons

    for buttons in (stage_buttons(lang), confirm_buttons(lang), amount_buttons(lang)):
        [message] = chat_messages("第47周", buttons)
        card = message["template_card"]
        assert [b["key"] for b in card["button_list"]] == [data for row in buttons for _, data in row]
        if lang == "zh":
            assert [b["text"] for b in card["button_list"]] == [label for row in buttons for label, _ in row]


@pytest.mark.parametrize(("count", "cards"), [(6, 1), (7, 2), (12, 2), (13, 3)])
def test_more_buttons_than_a_card_holds_go_on_further_cards(count: int, cards: int) -> None:
    """Eight open procedure items and Done: every button is offered, six to a card, in order."""
    from notifier.reporting.conversation import item_buttons

    buttons = item_buttons({i: f"手续{i}" for i in range(1, count)}, {2}, "zh")
    messages = chat_messages("本周办结了哪些手续?", buttons)
    assert [m["msgtype"] for m in messages] == ["template_card"] * cards
    keys = [b["key"] for m in messages for b in m["template_card"]["button_list"]]
    assert keys == [f"itm:{i}" for i in range(1, count)] + ["itm:0"]
    assert all(len(m["template_card"]["button_list"]) <= MAX_BUTTONS for m in messages)
    assert {m["template_card"]["main_title"]["title"] for m in messages} == {"本周办结了哪些手续?"}
    assert len({m["template_card"]["task_id"] for m in messages}) == cards


def test_a_long_text_with_many_buttons_is_text_then_cards() -> None:
    buttons = [[(f"P{i}", f"rep:{i}:2026-W48")] for i in range(8)]
    messages = chat_messages(
        "您负责8个项目:\n" + "\n".join(f"P{i} 某某重点项目名称较长" * 3 for i in range(8)), buttons
    )
    assert [m["msgtype"] for m in messages] == ["text", "template_card", "template_card"]
