"""The working-day clock, from its rule: a working day is a weekday that is no Dutch public
holiday and no day of a school holiday of the region, the first and the last day included.
Every period of the deadline table is counted with it (process.md), so an off-by-one here moves
every reminder of the office."""

import datetime as dt

import pytest

from deadlines.workdays import WorkingDays

D = dt.date
# Spring holiday of the middle region in 2027, Monday to Friday: its first and last days are
# weekdays, so only the holiday makes them free.
SPRING = (D(2027, 2, 15), D(2027, 2, 19))
# Summer holiday of the middle region in 2027: Saturday 17 July to Sunday 29 August.
SUMMER = (D(2027, 7, 17), D(2027, 8, 29))


class TestAWorkingDay:
    def test_monday_to_friday_are_working_days_and_the_weekend_is_not(self):
        cal = WorkingDays()
        week = [D(2026, 11, 30) + dt.timedelta(days=i) for i in range(7)]  # Mon 30 Nov ...
        assert [cal.is_working_day(day) for day in week] == [True] * 5 + [False] * 2

    def test_a_public_holiday_is_no_working_day_and_the_days_around_it_are(self):
        cal = WorkingDays()
        assert not cal.is_working_day(D(2027, 4, 27))  # King's Day, a Tuesday
        assert cal.is_working_day(D(2027, 4, 26))
        assert cal.is_working_day(D(2027, 4, 28))

    def test_the_first_and_the_last_day_of_a_school_holiday_are_free(self):
        cal = WorkingDays([SPRING])
        first, last = SPRING
        assert not cal.is_working_day(first)
        assert not cal.is_working_day(last)
        assert not cal.is_working_day(D(2027, 2, 17))
        # The Friday before and the Monday after are working days again.
        assert cal.is_working_day(first - dt.timedelta(days=3))
        assert cal.is_working_day(last + dt.timedelta(days=3))

    def test_a_one_day_school_holiday(self):
        cal = WorkingDays([(D(2027, 3, 10), D(2027, 3, 10))])
        assert not cal.is_working_day(D(2027, 3, 10))
        assert cal.is_working_day(D(2027, 3, 9))
        assert cal.is_working_day(D(2027, 3, 11))

    def test_the_answer_stays_the_same_when_asked_again(self):
        cal = WorkingDays([SPRING])
        for day in (D(2027, 2, 12), D(2027, 2, 15), D(2027, 2, 13)):
            assert cal.is_working_day(day) is cal.is_working_day(day)
        assert cal.is_working_day(D(2027, 2, 12)) is True
        assert cal.is_working_day(D(2027, 2, 15)) is False

    def test_every_school_holiday_counts_not_only_the_first(self):
        cal = WorkingDays([SPRING, (D(2027, 5, 3), D(2027, 5, 7))])
        assert not cal.is_working_day(D(2027, 5, 4))
        assert not cal.is_working_day(D(2027, 2, 16))


class TestAdd:
    def test_zero_working_days_is_the_day_itself_even_on_a_sunday(self):
        cal = WorkingDays()
        assert cal.add(D(2026, 11, 29), 0) == D(2026, 11, 29)

    def test_one_working_day_after_a_thursday_is_the_friday(self):
        assert WorkingDays().add(D(2026, 12, 3), 1) == D(2026, 12, 4)

    def test_the_day_after_the_last_day_before_a_school_holiday_is_the_first_day_after_it(self):
        cal = WorkingDays([SPRING])
        assert cal.add(D(2027, 2, 12), 1) == D(2027, 2, 22)
        assert cal.add(D(2027, 2, 22), -1) == D(2027, 2, 12)

    def test_across_the_summer_holiday(self):
        cal = WorkingDays([SUMMER])
        assert cal.add(D(2027, 7, 16), 1) == D(2027, 8, 30)
        assert cal.add(D(2027, 7, 15), 3) == D(2027, 8, 31)
        assert cal.add(D(2027, 8, 30), -1) == D(2027, 7, 16)

    def test_backwards_over_a_weekend_counts_the_friday(self):
        assert WorkingDays().add(D(2026, 12, 1), -2) == D(2026, 11, 27)


class TestBetween:
    @pytest.mark.parametrize(
        ("start", "end", "days"),
        [
            (D(2026, 11, 30), D(2026, 12, 3), 3),  # Mon -> Thu: Tue, Wed, Thu
            (D(2026, 11, 30), D(2026, 11, 30), 0),  # the same day
            (D(2026, 12, 3), D(2026, 11, 30), 0),  # the end before the start
            (D(2026, 11, 27), D(2026, 11, 30), 1),  # Fri -> Mon: the Monday
            (D(2026, 11, 28), D(2026, 11, 29), 0),  # a weekend
            (D(2026, 12, 3), D(2026, 12, 4), 1),  # Thu -> Fri
        ],
    )
    def test_working_days_after_the_start_up_to_and_including_the_end(self, start, end, days):
        assert WorkingDays().between(start, end) == days

    def test_across_the_summer_holiday(self):
        cal = WorkingDays([SUMMER])
        assert cal.between(D(2027, 7, 16), D(2027, 8, 30)) == 1
        assert cal.between(D(2027, 7, 14), D(2027, 9, 1)) == 5  # Thu, Fri, Mon, Tue, Wed

    def test_between_and_add_agree(self):
        cal = WorkingDays([SPRING, SUMMER])
        start = D(2027, 2, 10)
        for n in (1, 2, 5, 20, 60):
            assert cal.between(start, cal.add(start, n)) == n


class TestLatestAnchor:
    @pytest.mark.parametrize("n", [-10, -1, 0, 1, 3, 10])
    def test_the_latest_anchor_whose_period_is_over_today(self, n):
        cal = WorkingDays([SPRING, SUMMER])
        for today in (D(2027, 2, 22), D(2027, 7, 16), D(2027, 8, 30), D(2027, 8, 29)):
            anchor = cal.latest_anchor(today, n)
            assert cal.add(anchor, n) <= today
            assert cal.add(anchor + dt.timedelta(days=1), n) > today

    def test_a_resume_date_ten_working_days_ahead_across_the_summer(self):
        cal = WorkingDays([SUMMER])
        # Ten working days before Friday 10 September 2027: nine in September and the last
        # week of August, the tenth is Friday 16 July, before the holiday. So on 16 July the
        # reminders are due for every resume up to 10 September (the 11th is a Saturday: ten
        # working days before it end on Monday 30 August).
        assert cal.add(D(2027, 9, 10), -10) == D(2027, 7, 16)
        assert cal.add(D(2027, 9, 11), -10) == D(2027, 8, 30)
        assert cal.latest_anchor(D(2027, 7, 16), -10) == D(2027, 9, 10)
        assert cal.latest_anchor(D(2027, 7, 15), -10) == D(2027, 9, 9)

    def test_the_answer_is_remembered_and_the_same(self):
        cal = WorkingDays([SUMMER])
        # Three working days after Thursday 15 July: Friday 16 July, Monday 30 and Tuesday 31
        # August. Two after any day of the holiday: 30 and 31 August.
        first = cal.latest_anchor(D(2027, 8, 31), 3)
        assert first == D(2027, 7, 15)
        assert cal.latest_anchor(D(2027, 8, 31), 3) == first
        assert cal.latest_anchor(D(2027, 8, 31), 2) == D(2027, 8, 29)
