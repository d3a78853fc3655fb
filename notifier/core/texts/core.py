"""Texts of the command line and the demo."""

ZH = {
    "core.demo_creds": "未配置 Telegram/Twilio 凭据:使用模拟机器人与{backend}短信通道。",
    "core.db_upgraded": "数据库已升级到最新版本:{url}",
    "core.demo.title": "挂图作战 · 演示",
    "core.demo.step_db": "创建数据库",
    "core.demo.step_sample": "载入 100 个示例重点项目",
    "core.demo.sample_done": "已载入 {units} 个单位、{people} 人、{projects} 个项目、{milestones} 个节点。",
    "core.demo.step_bot": "模拟一周的项目负责人回复(机器人)",
    "core.demo.step_worker": "队列任务生成周通报并群发短信",
    "core.demo.step_summary": "发送情况",
    "core.demo.done": "演示完成,用时 {seconds:.1f} 秒。数据在 {path}",
    "core.redis_embedded": "未设置 REDIS_URL:已启动内置 Redis({url})。",
    "core.redis_lost": "与 Redis 的连接中断,{seconds} 秒后重启队列进程;未发完的短信都在数据库中,不会丢失。",
    "core.demo.approved": "通报草稿 #{id} 已由{name}审核通过。",
    "core.demo.quiet": "现在是夜间免打扰时段({window});演示的短信只写入本机文件,所以照常发出。正式运行时,非紧急短信顺延到 {end} 再发。",
    "core.demo.redis_private": "演示使用自己的内置 Redis({url}),不会读写 REDIS_URL 指向的 Redis 及其队列。",
    "core.demo.outbox": "短信通道(文件)共收到 {count} 条短信:{path}",
}

EN = {
    "core.demo_creds": "No Telegram/Twilio credentials: using the simulated bot and the {backend} SMS backend.",
    "core.db_upgraded": "Database upgraded to the latest revision: {url}",
    "core.demo.title": "Guatu demo",
    "core.demo.step_db": "Create the database",
    "core.demo.step_sample": "Load 100 sample key projects",
    "core.demo.sample_done": "Loaded {units} units, {people} people, {projects} projects, {milestones} milestones.",
    "core.demo.step_bot": "Simulate a week of lead replies (bot)",
    "core.demo.step_worker": "Worker composes the weekly bulletin and mass-sends it",
    "core.demo.step_summary": "Delivery summary",
    "core.demo.done": "Demo finished in {seconds:.1f} s. Data in {path}",
    "core.redis_embedded": "No REDIS_URL: started a private Redis ({url}).",
    "core.redis_lost": "Lost Redis; restarting the worker in {seconds} s. Unsent messages are kept in the database.",
    "core.demo.approved": "Draft bulletin #{id} approved by {name}.",
    "core.demo.quiet": "It is quiet hours now ({window}); the demo's SMS only go to a local file, so they are sent anyway. In a real run, non-urgent SMS wait until {end}.",
    "core.demo.redis_private": "The demo uses its own private Redis ({url}) and never touches the Redis or the queue REDIS_URL points at.",
    "core.demo.outbox": "The file SMS backend received {count} messages: {path}",
}
