"""Chat messages in WeCom's shapes: Telegram HTML made plain text, long text split under WeCom's
limit, and button rows as a button_interaction template card.

WeCom's text message takes at most 2048 bytes (the rest is cut off) and renders no markup but
<a href> links. A button card holds at most 6 buttons; its title and subtitle are short, so a
longer text goes first as text and the card follows with the first line as its title; more
buttons than a card holds go on further cards.
"""

from __future__ import annotations

import html
import secrets
from html.parser import HTMLParser
from typing import Any

from notifier.core.chat import Buttons

TEXT_LIMIT_BYTES = 2048
MAX_BUTTONS = 6
TITLE_CHARS = 36  # main_title.title: WeCom suggests at most 36 characters
SUBTITLE_CHARS = 160  # sub_title_text: at most 160 suggested
BUTTON_CHARS = 10  # button text: at most 10 suggested


class _Plain(HTMLParser):
    """Telegram's HTML subset to text: tags dropped, entities resolved, <a href> kept as WeCom shows it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.parts.append(f'<a href="{html.escape(href)}">')
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.parts.append("</a>")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(telegram_html: str) -> str:
    """What a Telegram HTML message says, as WeCom text."""
    parser = _Plain()
    parser.feed(telegram_html)
    parser.close()
    return "".join(parser.parts).strip()


def _cut_bytes(line: str, limit: int) -> list[str]:
    pieces: list[str] = []
    while len(line.encode()) > limit:
        piece = line.encode()[:limit].decode(errors="ignore")  # never half a character
        pieces.append(piece)
        line = line[len(piece) :]
    return [*pieces, line]


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Text in pieces of at most `limit` UTF-8 bytes, cut between lines where a line fits."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        for piece in _cut_bytes(line, limit):
            candidate = f"{current}\n{piece}" if current else piece
            if len(candidate.encode()) <= limit:
                current = candidate
            else:
                chunks.append(current)
                current = piece
    if current or not chunks:
        chunks.append(current)
    return chunks


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def task_id() -> str:
    """A card's task id: unique within the app (WeCom refuses a repeated one), [A-Za-z0-9_-@]."""
    return "guatu-" + secrets.token_hex(12)


def button_card(*, title: str, subtitle: str, buttons: Buttons, hint: str = "") -> dict[str, Any]:
    """A button_interaction template card whose buttons carry the callback data as their keys."""
    flat = [button for row in buttons for button in row]
    if not 0 < len(flat) <= MAX_BUTTONS:
        raise ValueError(f"a WeCom button card holds 1 to {MAX_BUTTONS} buttons, not {len(flat)}")
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": _short(title, TITLE_CHARS)},
        "task_id": task_id(),
        "button_list": [
            {"text": _short(label, BUTTON_CHARS), "style": 1 if i == 0 else 2, "key": data}
            for i, (label, data) in enumerate(flat)
        ],  # fmt: skip
    }
    if hint:
        card["main_title"]["desc"] = _short(hint, TITLE_CHARS)
    if subtitle:
        card["sub_title_text"] = subtitle
    return card


def _button_groups(buttons: Buttons) -> list[Buttons]:
    """The buttons in groups that fit one card each (WeCom's card holds at most MAX_BUTTONS)."""
    flat = [button for row in buttons for button in row]
    return [[flat[i : i + MAX_BUTTONS]] for i in range(0, len(flat), MAX_BUTTONS)]


def chat_messages(text: str, buttons: Buttons | None, *, hint: str = "") -> list[dict[str, Any]]:
    """The message/send bodies (without touser and agentid) that carry one chat message; more
    buttons than a card holds go on further cards under the same title."""
    plain = plain_text(text)
    if not buttons:
        return [{"msgtype": "text", "text": {"content": piece}} for piece in split_text(plain)]
    title, _, rest = plain.partition("\n")
    rest = rest.strip()
    groups = _button_groups(buttons)
    messages: list[dict[str, Any]] = []
    if len(title) <= TITLE_CHARS and len(rest) <= SUBTITLE_CHARS:
        card = button_card(title=title, subtitle=rest, buttons=groups.pop(0))
        messages.append({"msgtype": "template_card", "template_card": card})
    else:
        messages += [{"msgtype": "text", "text": {"content": piece}} for piece in split_text(plain)]
    for group in groups:
        card = button_card(title=title, subtitle="", buttons=group, hint=hint)
        messages.append({"msgtype": "template_card", "template_card": card})
    return messages
