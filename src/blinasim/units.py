"""Units shared by every package: internally every time is in days.

The one definition of the year and the month (a year is 365.25 days, a month 1/12 of it);
files carry the unit in each field's name (``follow_up_years``, ``cl_l_per_h``).
"""

from __future__ import annotations

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_YEAR"]
