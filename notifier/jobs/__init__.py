"""arq job functions, grouped by area; `worker.WorkerSettings` assembles them.

Each area module exports FUNCTIONS (a list of `async def job(ctx, ...)`) and CRON_JOBS
(a list built with `settings`), and gets its clients from `ctx`, which `worker.startup` fills:
ctx["settings"], ctx["sessionmaker"], ctx["engine"], ctx["redis"] (arq's ArqRedis).
"""
