"""The number of cases closed per day (UTC) and state, kept by triggers on the case table
like 0012's counts per state (#17): the dashboard's "closed in the last 30 days" reads 30 days
of counters instead of one index entry per closed case, which grew with the table.

A case counts on the UTC day of its `closed_at`, in its state, whenever it has a `closed_at`
(the dashboard picks the closed states; a new closed state needs no new trigger).
PostgreSQL: one trigger function; a move locks the old and the new (day, state) rows in a fixed
order (the smaller first), so two concurrent moves in opposite directions cannot deadlock.
SQLite (development, tests): three triggers with the same effect (SQLite serialises writers).
The counts start from the cases already there."""

from django.db import migrations, models

PG_FORWARD = """
CREATE OR REPLACE FUNCTION cases_closure_count_bump(d date, s varchar, n bigint)
RETURNS void AS $$
BEGIN
    IF n > 0 THEN
        INSERT INTO cases_caseclosurecount (day, state, count) VALUES (d, s, n)
        ON CONFLICT (day, state)
        DO UPDATE SET count = cases_caseclosurecount.count + EXCLUDED.count;
    ELSE  -- a case leaves a (day, state) it was counted in
        UPDATE cases_caseclosurecount SET count = count + n WHERE day = d AND state = s;
    END IF;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION cases_closure_count_trigger() RETURNS trigger AS $$
DECLARE
    old_day date;
    new_day date;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.closed_at IS NOT NULL THEN
        old_day := (OLD.closed_at AT TIME ZONE 'UTC')::date;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.closed_at IS NOT NULL THEN
        new_day := (NEW.closed_at AT TIME ZONE 'UTC')::date;
    END IF;
    IF TG_OP = 'UPDATE' AND old_day IS NOT DISTINCT FROM new_day
            AND OLD.state IS NOT DISTINCT FROM NEW.state THEN
        RETURN NULL;  -- counted where it was
    END IF;
    IF old_day IS NOT NULL
            AND (new_day IS NULL OR (old_day, OLD.state) < (new_day, NEW.state)) THEN
        PERFORM cases_closure_count_bump(old_day, OLD.state, -1);
        IF new_day IS NOT NULL THEN
            PERFORM cases_closure_count_bump(new_day, NEW.state, 1);
        END IF;
    ELSE
        IF new_day IS NOT NULL THEN
            PERFORM cases_closure_count_bump(new_day, NEW.state, 1);
        END IF;
        IF old_day IS NOT NULL THEN
            PERFORM cases_closure_count_bump(old_day, OLD.state, -1);
        END IF;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER cases_closure_count
AFTER INSERT OR DELETE OR UPDATE OF state, closed_at ON cases_case
FOR EACH ROW EXECUTE FUNCTION cases_closure_count_trigger();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS cases_closure_count ON cases_case;
DROP FUNCTION IF EXISTS cases_closure_count_trigger();
DROP FUNCTION IF EXISTS cases_closure_count_bump(date, varchar, bigint);
"""

ADD = (
    "INSERT INTO cases_caseclosurecount (day, state, count) "
    "SELECT date({row}.closed_at), {row}.state, 1 WHERE {row}.closed_at IS NOT NULL "
    "ON CONFLICT (day, state) DO UPDATE SET count = count + 1;"
)
SUBTRACT = (
    "UPDATE cases_caseclosurecount SET count = count - 1 "
    "WHERE {row}.closed_at IS NOT NULL AND day = date({row}.closed_at) AND state = {row}.state;"
)
SQLITE_FORWARD = [
    "CREATE TRIGGER cases_closure_count_insert AFTER INSERT ON cases_case BEGIN "
    + ADD.format(row="NEW")
    + " END;",
    "CREATE TRIGGER cases_closure_count_delete AFTER DELETE ON cases_case BEGIN "
    + SUBTRACT.format(row="OLD")
    + " END;",
    "CREATE TRIGGER cases_closure_count_update AFTER UPDATE OF state, closed_at ON cases_case "
    "WHEN NEW.state IS NOT OLD.state OR date(NEW.closed_at) IS NOT date(OLD.closed_at) BEGIN "
    + SUBTRACT.format(row="OLD")
    + " "
    + ADD.format(row="NEW")
    + " END;",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS cases_closure_count_{op};" for op in ("insert", "delete", "update")
]
FILL = (
    "INSERT INTO cases_caseclosurecount (day, state, count) "
    "SELECT {day}, state, COUNT(*) FROM cases_case WHERE closed_at IS NOT NULL GROUP BY 1, 2"
)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # No case may close between the count and the trigger's first bump.
        schema_editor.execute("LOCK TABLE cases_case IN SHARE ROW EXCLUSIVE MODE")
        schema_editor.execute(PG_FORWARD)
        schema_editor.execute(FILL.format(day="(closed_at AT TIME ZONE 'UTC')::date"))
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
        schema_editor.execute(FILL.format(day="date(closed_at)"))
    else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
        raise NotImplementedError(vendor)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0014_closed_at_state_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="CaseClosureCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField(verbose_name="day (UTC)")),
                ("state", models.CharField(max_length=40, verbose_name="state")),
                ("count", models.BigIntegerField(default=0, verbose_name="number of cases")),
            ],
            options={
                "verbose_name": "number of cases closed on a day",
                "verbose_name_plural": "numbers of cases closed per day",
                "ordering": ["-day", "state"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "state"), name="case_closure_count_day_state"
                    )
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
