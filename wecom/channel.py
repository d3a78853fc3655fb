"""WecomChannel: notifier's WecomApi on the client — chat messages as WeCom text and button cards."""

from __future__ import annotations

from notifier.core.chat import Buttons
from notifier.core.texts import t
from wecom.client import WecomClient
from wecom.format import chat_messages


class WecomChannel:
    """Sends chat messages to WeCom members and looks members up by mobile number."""

    def __init__(self, client: WecomClient, *, lang: str = "zh") -> None:
        self.client = client
        self.lang = lang

    async def userid_by_mobile(self, mobile: str) -> str:
        return await self.client.userid_by_mobile(mobile)

    async def send_chat(self, *, userid: str, text: str, buttons: Buttons | None = None) -> None:
        for message in chat_messages(text, buttons, hint=t("wecom.card_hint", self.lang)):
            await self.client.send_message({"touser": userid, **message})

    async def answer_card(self, *, userid: str, response_code: str, label: str) -> None:
        """Replace a pressed card's buttons with `label` (已阅, 已同意...)."""
        await self.client.update_button(userid=userid, response_code=response_code, replace_name=label)

    async def aclose(self) -> None:
        await self.client.aclose()
