"""The deadline clock: the deadline table of process.md, working days (public and school
holidays per region), the scan that writes reminders and escalations into the outbox, and the
monitor that lists the overdue and due-soon steps for the office.

Layer: a feature app above `notifications` (it writes outbox rows and registers its events'
labels and reminder wording there, see apps.py) and below `conversations`, `transfers` and the
top-layer pages. It imports only `cases` and `notifications`.

Other apps use what `deadlines.api` lists, nothing else:

- the table: `RULES`, `Rule`, `event_name`, the kinds `REMIND`, `ESCALATE`, `DUE_SOON`;
- the rules in force and the calendars: `effective_rules()`, `EffectiveRule`, `calendars()`,
  `WorkingDays`;
- the scan: `scan()`, `ScanResult` (the task: `deadlines.tasks.scan_deadlines`);
- the monitor: `due_steps()`, `DueStep`, `overdue_filter()`, `load_calendars()`, `Calendars`,
  `FastDays`, `first_deadline()`, and its statuses `OVERDUE`, `ESCALATED`, `STEP_DUE_SOON`;
- the office's configuration: the models `DeadlineRule` and `SchoolHoliday`
  (`deadlines.models`, edited in the admin).
"""
