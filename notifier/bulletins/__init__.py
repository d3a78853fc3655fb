"""What leaders receive: bulletin composition (SMS, Telegram HTML, chart, workbook), sign-off and the
archive, the chat copies with 已阅, and the alerts along the 包联 chain.

May import notifier.core, numbers, reporting and sending.
"""
