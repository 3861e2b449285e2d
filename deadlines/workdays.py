"""Working days: weekdays that are no Dutch public holiday and no school holiday of the region.

Public holidays come from the maintained `holidays` package; school holidays per region
(noord, midden, zuid) are configured by the office in the admin (SchoolHoliday).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

import holidays


@lru_cache(maxsize=1)
def _public_holidays() -> holidays.HolidayBase:
    return holidays.country_holidays("NL")


class WorkingDays:
    def __init__(self, school_holidays: Iterable[tuple[dt.date, dt.date]] = ()) -> None:
        self._school = [(start, end) for start, end in school_holidays]
        self._cache: dict[dt.date, bool] = {}
        self._anchors: dict[tuple[dt.date, int], dt.date] = {}

    def is_working_day(self, day: dt.date) -> bool:
        cached = self._cache.get(day)
        if cached is None:
            cached = (
                day.weekday() < 5
                and day not in _public_holidays()
                and not any(start <= day <= end for start, end in self._school)
            )
            self._cache[day] = cached
        return cached

    def add(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (n < 0: before it). n == 0 returns `day` itself."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        current = day
        while remaining:
            current += dt.timedelta(days=step)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count = 0
        current = start
        while current < end:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count

    def latest_anchor(self, today: dt.date, n: int) -> dt.date:
        """The latest anchor date `a` with add(a, n) <= today: anything anchored on or before it
        has reached its deadline. add() is monotonic in its anchor, so walk back until it fits.
        Remembered per (today, n): the lists ask the same few questions for every rule."""
        found = self._anchors.get((today, n))
        if found is not None:
            return found
        anchor = today + dt.timedelta(days=abs(n) * 3 + 120) if n < 0 else today
        while self.add(anchor, n) > today:
            anchor -= dt.timedelta(days=1)
        self._anchors[(today, n)] = anchor
        return anchor
