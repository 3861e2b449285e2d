"""What the clock runs on today: the rules with the office's configured periods, and the
working-day calendar of each region (its school holidays). Read by the scan, the monitor and
the other apps' lists alike, so they all judge a step by the same thresholds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cases.models import TrainingSchool

from .models import DeadlineRule, SchoolHoliday
from .rules import RULES, Rule
from .workdays import WorkingDays


@dataclass(frozen=True)
class EffectiveRule:
    rule: Rule
    remind_after: int | None
    escalate_after: int | None
    due_soon_before: int


def effective_rules() -> list[EffectiveRule]:
    """The rules in force: each rule with its configured periods (the default without a row);
    a rule the office switched off is left out."""
    configured = {r.key: r for r in DeadlineRule.objects.all()}
    result = []
    for key, rule in RULES.items():
        row = configured.get(key)
        if row is None:
            result.append(EffectiveRule(rule, rule.remind_after, rule.escalate_after, 1))
        elif row.active:
            result.append(
                EffectiveRule(rule, row.remind_after, row.escalate_after, row.due_soon_before)
            )
    return result


_CALENDARS: dict[tuple, WorkingDays] = {}


def calendars() -> dict[str, WorkingDays]:
    """The working-day calendar per region. A region's calendar is reused while its school
    holidays stay the same, so what it has worked out (working days, cutoffs) serves the
    next request too."""
    by_region: dict[str, list[tuple[dt.date, dt.date]]] = {r: [] for r in TrainingSchool.Region}
    for holiday in SchoolHoliday.objects.all():
        by_region[holiday.region].append((holiday.start_date, holiday.end_date))
    result = {}
    for region, periods in by_region.items():
        key = tuple(sorted(periods))
        if key not in _CALENDARS:
            if len(_CALENDARS) > 64:
                _CALENDARS.clear()
            _CALENDARS[key] = WorkingDays(periods)
        result[region] = _CALENDARS[key]
    return result
