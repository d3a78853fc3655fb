"""Texts of the report conversation shared by the chat channels (Telegram, WeCom)."""

ZH = {
    "bot.amount.yes": "是",
    "bot.amount.no": "不是,重新填写",
    "bot.myprojects.reported": "(本周已报)",
    "bot.myprojects.missing": "(本周未报)",
}

EN = {
    "bot.amount.yes": "Yes",
    "bot.amount.no": "No, re-enter",
    "bot.myprojects.reported": "(reported this week)",
    "bot.myprojects.missing": "(not reported this week)",
}
