"""Texts of the WeCom (企业微信) channel: card hints, answers to replies and button presses."""

ZH = {
    "wecom.card_hint": "请点击下方按钮",
    "wecom.unbound": "您的企业微信账号尚未与挂图作战平台关联(平台按登记的手机号关联)。如有疑问请联系:{contact}",
    "wecom.text_help": "已收到。回复“我的项目”可查看并填报本周进展;本应用还推送通报、审核与已阅确认。如有疑问请联系:{contact}",
    "wecom.chosen": "已选择",
    "wecom.demo.step": "企业微信通道(模拟企业微信应用)",
    "wecom.demo.done": "企业微信:{leads} 位负责人按手机号绑定,{reminded} 条提醒经企业微信送达,{reports} 份周报经企业微信回调提交({callbacks} 次回调,发出 {messages} 条消息;access_token 中途过期,共获取 {token_refreshes} 次,无消息丢失)。",
    "wecom.demo.bulletin": "企业微信:通报(编号{bulletin_id})卡片带“已阅”按钮送达 {cards} 位领导;{reader} 在企业微信点击“已阅”,经回调记录 {reads} 次已阅。",
    "wecom.unknown_button": "这个按钮已失效。",
    "wecom.read_done": "已阅 ✓",
    "wecom.approved_done": "已同意",
    "wecom.rejected_done": "已驳回",
    "wecom.off": "未配置企业微信,企业微信通道关闭 / WeCom is off: WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, WECOM_TOKEN and WECOM_AES_KEY are not set",
}

EN = {
    "wecom.card_hint": "Tap a button below",
    "wecom.unbound": "Your WeCom account is not linked to Guatu (it links by the registered mobile number). Questions: {contact}",
    "wecom.text_help": 'Received. Reply "/myprojects" to see and report this week\'s projects; this app also brings bulletins, sign-off and read receipts. Questions: {contact}',
    "wecom.chosen": "Chosen",
    "wecom.demo.step": "The WeCom channel (a simulated WeCom app)",
    "wecom.demo.done": "WeCom: {leads} leads bound by their mobile number, {reminded} reminders delivered in WeCom, {reports} reports submitted through WeCom callbacks ({callbacks} callbacks, {messages} messages sent; the access token expired halfway, fetched {token_refreshes} times, nothing lost).",
    "wecom.demo.bulletin": "WeCom: the card of bulletin {bulletin_id} with its Read button reached {cards} leaders; {reader} pressed Read in WeCom and the callback recorded {reads} read.",
    "wecom.unknown_button": "This button is no longer valid.",
    "wecom.read_done": "Read ✓",
    "wecom.approved_done": "Approved",
    "wecom.rejected_done": "Rejected",
    "wecom.off": "WeCom is off: WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, WECOM_TOKEN and WECOM_AES_KEY are not set",
}
