"""Chat channels beside Telegram: WeCom (企业微信) members bound by the mobile number the office
imported, each person's channel order, and the sender that follows it (Telegram, WeCom, then the
caller's SMS). The WeCom HTTP adapter lives in the top-level `wecom/` package and implements
`WecomApi`; nothing here speaks HTTP.

Also the bulletin buttons written once for every channel (presses: 已阅, 同意 / 驳回).

May import notifier.core; presses also notifier.reporting and notifier.bulletins.
"""
