"""Texts of the SMS keyword replies (inbound STOP / START / HELP)."""

ZH = {
    "webhook.stopped": "{office}:您已退订短信通知,不会再收到本平台短信。回复 START 可恢复。",
    "webhook.started": "{office}:您已恢复接收短信通知。回复 TD 或 STOP 可退订。",
    "webhook.help": "{contact}。回复 TD 或 STOP 退订,回复 START 恢复。",
}

EN = {
    "webhook.stopped": "{office}: you have unsubscribed and will receive no more messages. Reply START to resume.",
    "webhook.started": "{office}: you will receive messages again. Reply STOP to unsubscribe.",
    "webhook.help": "{contact}. Reply STOP to unsubscribe, START to resume.",
}
