"""Units of the trial engine: internally every time is in days.

The one definition of the year and the month inside :mod:`blinasim.trial` (a year is
365.25 days, a month 1/12 of it); design files carry the unit in each field's name.
"""

from __future__ import annotations

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_YEAR"]
