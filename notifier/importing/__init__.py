"""The office's spreadsheets into the database: reading .xlsx/.csv sheets, typed cells, validation of
every row before anything is written, and the writes (upserts, weekly reports through reporting).

May import notifier.core, notifier.numbers and notifier.reporting.
"""
