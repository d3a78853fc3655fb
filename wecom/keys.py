"""Every Redis key the WeCom adapter writes, in one place."""

PREFIX = "guatu:wecom:"
# The app's access token (per corp and agent) and the lock held while one process refreshes it.
TOKEN = PREFIX + "token:{corp_id}:{agent_id}"
TOKEN_LOCK = TOKEN + ":lock"
# Set for a while after WeCom answers 45009 (rate limit): every process waits it out.
PAUSE = PREFIX + "pause:{corp_id}:{agent_id}"
# The shared send rate (notifier.sending.ratelimit.RateLimiter name, under guatu:rate:).
RATE_NAME = "wecom:{corp_id}:{agent_id}"
# Callbacks seen: by their signature, timestamp and nonce, and by the message inside.
SEEN_REQUEST = PREFIX + "seen:req:{digest}"
SEEN_MESSAGE = PREFIX + "seen:msg:{digest}"
# A member's report conversation (state and data as JSON) and its lock (+ ":lock").
CONVERSATION = PREFIX + "conv:{corp_id}:{agent_id}:{userid}"
