"""The office's spreadsheets into the database: reading .xlsx/.csv sheets, typed cells, headings and
their mapping to fields, the office's layout (合计, section and footnote rows), validation of every
row before anything is written, and the writes (upserts, weekly reports through reporting).

May import notifier.core, notifier.numbers and notifier.reporting.
"""
