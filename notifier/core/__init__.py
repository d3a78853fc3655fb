"""What every other part stands on: settings, user-readable errors, the texts (zh/en), the audit log,
phone numbers, metrics, the once-per-period job guard, the embedded Redis and the chat protocols
(ChatSender, PersonChat).

Imports nothing from the rest of notifier/ (only models/ and third-party libraries).
"""
