"""AiogramChatSender on a real Bot: flood-control wait honoured, a blocked user marked and False returned."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.fake_session import RecordingSession, recording_bot
from bot.sender import AiogramChatSender
from models import Person
from models.db import SessionMaker
from tests.notifier.bot_world import make_world


async def test_send_with_buttons_and_retry_after() -> None:
    session = RecordingSession(retry_after={111: 0})
    sender = AiogramChatSender(recording_bot(session))
    assert await sender.send_text(telegram_id=111, text="你好", buttons=[[("填报", "rep:1:2026-W48")]])
    [request] = session.sent()
    assert request.text == "你好"
    assert [[(b.text, b.callback_data) for b in row] for row in request.reply_markup.inline_keyboard] == [
        [("填报", "rep:1:2026-W48")]
    ]


async def test_blocked_user_marked(session: AsyncSession, sessionmaker: SessionMaker) -> None:
    world = await make_world(session)
    world.lead.telegram_id = 111
    session.add(world.lead)
    await session.commit()
    sender = AiogramChatSender(recording_bot(RecordingSession(forbidden={111})), sessionmaker=sessionmaker)
    assert await sender.send_text(telegram_id=111, text="你好") is False
    assert await sender.send_photo(telegram_id=111, png=b"png", caption="图") is False
    lead = await session.get(Person, world.lead.id, populate_existing=True)
    assert lead is not None and lead.telegram_blocked
