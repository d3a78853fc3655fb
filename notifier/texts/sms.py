"""Texts of the mass-SMS commands: segments, broadcast previews, campaign status."""

ZH = {
    "sms.segments": "{encoding}:{characters} 字,{segments} 条(每条 {per_segment})",
    "sms.preview.recipients": "收件人 {recipients} 人;跳过 {skipped}",
    "sms.preview.cost": "共 {segments} 条计费短信(单条最多 {max_segments} 段,{encoding}),预计费用 ¥{cost}",
    "sms.preview.quiet": "免打扰时段:将于 {at} 后发送(紧急消息用 --urgent)",
    "sms.skip.opted_out": "已退订",
    "sms.skip.invalid_number": "号码无效",
    "sms.skip.no_number": "无号码",
    "sms.skip.none": "0",
    "sms.confirm": "确认发送?",
    "sms.no_redis": "未设置 REDIS_URL:任务已记录在数据库中,运行 guatu worker 时由清扫任务接手发送。",
    "sms.queued": "群发任务 #{id} 已{state}。查看:guatu campaign status {id}",
    "sms.status.title": "群发任务 #{id} · {state}",
    "sms.status.state": "状态",
    "sms.status.count": "数量",
    "sms.transition": "群发任务 #{id}:{state}",
    "sms.list.title": "群发任务",
    "sms.list.columns": "编号,类型,状态,标题,收件人,创建时间",
    "sms.summary.columns": "#,类型,状态,已发出,已送达,失败,跳过,待发,条数,费用(元)",
}

EN = {
    "sms.segments": "{encoding}: {characters} characters, {segments} segment(s) ({per_segment} each)",
    "sms.preview.recipients": "{recipients} recipients; skipped {skipped}",
    "sms.preview.cost": "{segments} billed segments (at most {max_segments} per message, {encoding}), "
    "estimated cost ¥{cost}",
    "sms.preview.quiet": "Quiet hours: will be sent after {at} (use --urgent for urgent messages)",
    "sms.skip.opted_out": "opted out",
    "sms.skip.invalid_number": "invalid number",
    "sms.skip.no_number": "no number",
    "sms.skip.none": "none",
    "sms.confirm": "Send now?",
    "sms.no_redis": "REDIS_URL is not set: the campaign is stored; the sweeper hands it over when guatu worker runs.",
    "sms.queued": "Campaign #{id} {state}. Follow it: guatu campaign status {id}",
    "sms.status.title": "Campaign #{id} · {state}",
    "sms.status.state": "state",
    "sms.status.count": "count",
    "sms.transition": "Campaign #{id}: {state}",
    "sms.list.title": "Campaigns",
    "sms.list.columns": "id,kind,state,title,recipients,created",
    "sms.summary.columns": "#,kind,state,sent,delivered,failed,skipped,pending,segments,cost ¥",
}
