"""What leads send in: weekly reports (versions, deadline), the report conversation written once
for every chat channel (Telegram, WeCom), the weekly prompts and reminders,
Telegram invites, signed report and wall links, and read receipts (已阅).

May import notifier.core, notifier.numbers and notifier.sending (a prompt round falls back to SMS).
"""
