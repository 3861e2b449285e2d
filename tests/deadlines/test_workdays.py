"""Working days: weekends, Dutch public holidays and a region's school holidays skipped."""

import datetime as dt

from deadlines.workdays import WorkingDays


class TestWorkingDays:
    def test_it_skips_weekends(self):
        cal = WorkingDays()
        assert cal.add(dt.date(2026, 11, 27), 1) == dt.date(2026, 11, 30)  # Fri -> Mon

    def test_it_skips_public_holidays(self):
        cal = WorkingDays()
        # Wed 23 Dec 2026 + 3: Thu 24, (Christmas Fri 25, weekend), Mon 28, Tue 29.
        assert cal.add(dt.date(2026, 12, 23), 3) == dt.date(2026, 12, 29)
        assert cal.add(dt.date(2027, 4, 26), 1) == dt.date(2027, 4, 28)  # King's Day

    def test_it_skips_school_holidays(self):
        cal = WorkingDays([(dt.date(2026, 12, 19), dt.date(2027, 1, 3))])
        assert cal.add(dt.date(2026, 12, 17), 3) == dt.date(2027, 1, 5)

    def test_it_counts_backwards(self):
        cal = WorkingDays()
        assert cal.add(dt.date(2026, 11, 30), -1) == dt.date(2026, 11, 27)

    def test_latest_anchor_inverts_add(self):
        cal = WorkingDays([(dt.date(2027, 2, 13), dt.date(2027, 2, 21))])
        today = dt.date(2027, 2, 24)
        for n in (-10, 0, 1, 3, 15):
            anchor = cal.latest_anchor(today, n)
            assert cal.add(anchor, n) <= today
            assert cal.add(anchor + dt.timedelta(days=1), n) > today

    def test_between(self):
        assert WorkingDays().between(dt.date(2026, 11, 27), dt.date(2026, 12, 4)) == 5
