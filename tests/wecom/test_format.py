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
    """The stage choice and the confirm step (phase B's conversation) each fit one card, with the
    callback data the Telegram keyboards pack; labels stay within WeCom's suggested length."""
    from models import Stage
    from notifier.core.texts import t

    stages = [[(t(f"bot.stage.{s.value}", lang), f"stg:{s.value}") for s in Stage]]
    confirm = [[(t("bot.form.confirm", lang), "cfm:1"), (t("bot.form.cancel", lang), "cfm:0")]]
    for buttons in (stages, confirm):
        card = button_card(title="第47周", subtitle="", buttons=buttons)
        assert [b["key"] for b in card["button_list"]] == [data for row in buttons for _, data in row]
        if lang == "zh":
            assert all(
                b["text"] == label for b, (label, _) in zip(card["button_list"], buttons[0], strict=True)
            )
