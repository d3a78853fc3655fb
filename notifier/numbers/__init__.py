"""The numbers leaders read: the three rates, rankings, red and black lists, the time schedule,
week-over-week trends, ISO weeks, the dispatch calendar and holidays, money and typed amounts.

May import notifier.core and models/ only; pure functions wherever no database is needed.
"""
