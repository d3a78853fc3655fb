"""Texts of bulletin sign-off in Telegram, the leaders' copies (已阅) and opting out in the bot."""

ZH = {
    "approval.approve": "✅ 同意发送",
    "approval.reject": "❌ 驳回",
    "approval.headline": "{projects}个项目,开复工率{start},手续办结率{procedure},投资完成率{investment};红榜{red}个,黑榜{black}个。",
    "approval.ask": "<b>通报待审核</b>(编号{id},{period})\n计划发送时间:{send_at}\n收件领导:{recipients}人\n{headline}\n\n短信原文:\n{sms}",
    "approval.remind": "提醒:通报(编号{id})尚未审核,计划{send_at}发送;未经审核不会发出。",
    "approval.expired": "通报(编号{id})到计划发送时间{send_at}仍未审核,未发送,已记录延误。",
    "approval.blocked": "通报(编号{id})已审核,但无法发出:{reason}。问题解决后每分钟会自动重试。",
    "approval.approved": "已同意,通报(编号{id})将在{send_at}发送。",
    "approval.rejected": "已驳回通报(编号{id}),不会发送。",
    "approval.read_button": "已阅",
    "approval.read": "已记录您已阅读通报(编号{id}),谢谢。",
    "approval.read_again": "您已阅读过这份通报。",
    "approval.read_remind": "您尚未确认阅读通报(编号{id},{period}),请阅读后点击“已阅”。",
    "optout.stopped": "已停止向您的手机{phone}发送短信通知。发送 /start 可恢复。",
    "optout.started": "已恢复向您的手机{phone}发送短信通知。",
    "optout.no_phone": "您的账号没有登记手机号,无需退订短信。",
}

EN = {
    "approval.approve": "✅ Approve",
    "approval.reject": "❌ Reject",
    "approval.headline": "{projects} projects, start rate {start}, procedure rate {procedure}, investment rate {investment}; red list {red}, black list {black}.",
    "approval.ask": "<b>Bulletin awaiting sign-off</b> (no. {id}, {period})\nSend time: {send_at}\nLeaders: {recipients}\n{headline}\n\nSMS text:\n{sms}",
    "approval.remind": "Reminder: bulletin {id} is not signed off; it is due at {send_at} and will not go without approval.",
    "approval.expired": "Bulletin {id} was not approved by its send time {send_at} and was not sent; the delay is recorded.",
    "approval.blocked": "Bulletin {id} is approved but could not be sent: {reason}. It is tried again every minute once fixed.",
    "approval.approved": "Approved: bulletin {id} goes out at {send_at}.",
    "approval.rejected": "Bulletin {id} rejected; it will not be sent.",
    "approval.read_button": "Read",
    "approval.read": "Recorded that you read bulletin {id}. Thank you.",
    "approval.read_again": "You have already acknowledged this bulletin.",
    "approval.read_remind": "You have not acknowledged bulletin {id} ({period}) yet: please read it and tap Read.",
    "optout.stopped": "SMS notices to {phone} are stopped. Send /start to resume them.",
    "optout.started": "SMS notices to {phone} are resumed.",
    "optout.no_phone": "Your account has no phone number registered: there are no SMS to stop.",
}
