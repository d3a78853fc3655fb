"""WeCom (企业微信) self-built app (自建应用): the HTTP client (gettoken, message/send,
user/getuserid, message/update_template_card) with its token shared through Redis, the chat
formatting (plain text and button cards), the callback crypto and replay guard (wechatpy's
WeChatCrypto), the handlers of replies and button presses (the report conversation, written once
in notifier.reporting.conversation, with each member's state in Redis), and the demo's WeCom week.

Like bot/, it implements what notifier asks for (notifier.channels.wecom.WecomApi) and calls
notifier; only the command line (notifier.cli, notifier.demo) imports it, to run it.
"""
