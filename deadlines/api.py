"""The public API of the deadline clock: what other apps may import (see __init__.py)."""

from .models import DeadlineRule, SchoolHoliday
from .monitoring import DUE_SOON as STEP_DUE_SOON
from .monitoring import (
    ESCALATED,
    OVERDUE,
    Calendars,
    DueStep,
    FastDays,
    due_steps,
    first_deadline,
    load_calendars,
    overdue_filter,
)
from .rules import DUE_SOON, ESCALATE, REMIND, RULES, Rule, event_name
from .scan import ScanResult, scan
from .selectors import EffectiveRule, calendars, effective_rules
from .workdays import WorkingDays

__all__ = [
    "DUE_SOON",
    "ESCALATE",
    "ESCALATED",
    "OVERDUE",
    "REMIND",
    "RULES",
    "STEP_DUE_SOON",
    "Calendars",
    "DeadlineRule",
    "DueStep",
    "EffectiveRule",
    "FastDays",
    "Rule",
    "SchoolHoliday",
    "ScanResult",
    "WorkingDays",
    "calendars",
    "due_steps",
    "effective_rules",
    "event_name",
    "first_deadline",
    "load_calendars",
    "overdue_filter",
    "scan",
]
