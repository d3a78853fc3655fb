"""`guatu demo`: the sample list of 100 fictional projects and the whole weekly cycle run end to end.

An entry point: may import any part of notifier/ (and bot/ for the simulated Telegram round).
"""
