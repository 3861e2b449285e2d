"""The number of cases per state, kept by triggers on the case table (#17): the dashboard
reads a handful of rows instead of counting every open case.

PostgreSQL: one trigger function; a move locks the old and the new state's rows in a fixed
order (the smaller state name first), so two concurrent moves in opposite directions cannot
deadlock. SQLite (development, tests): three triggers with the same effect (SQLite serialises
writers). The counts start from the cases already there."""

from django.db import migrations, models

PG_FORWARD = """
CREATE OR REPLACE FUNCTION cases_state_count_bump(s varchar, d bigint) RETURNS void AS $$
BEGIN
    IF d > 0 THEN
        INSERT INTO cases_casestatecount (state, count) VALUES (s, d)
        ON CONFLICT (state) DO UPDATE SET count = cases_casestatecount.count + EXCLUDED.count;
    ELSE  -- a case leaves a state it was counted in (never a row below zero after a flush)
        UPDATE cases_casestatecount SET count = count + d WHERE state = s;
    END IF;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION cases_state_count_trigger() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM cases_state_count_bump(NEW.state, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM cases_state_count_bump(OLD.state, -1);
    ELSIF NEW.state IS DISTINCT FROM OLD.state THEN
        IF OLD.state < NEW.state THEN
            PERFORM cases_state_count_bump(OLD.state, -1);
            PERFORM cases_state_count_bump(NEW.state, 1);
        ELSE
            PERFORM cases_state_count_bump(NEW.state, 1);
            PERFORM cases_state_count_bump(OLD.state, -1);
        END IF;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER cases_state_count
AFTER INSERT OR DELETE OR UPDATE OF state ON cases_case
FOR EACH ROW EXECUTE FUNCTION cases_state_count_trigger();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS cases_state_count ON cases_case;
DROP FUNCTION IF EXISTS cases_state_count_trigger();
DROP FUNCTION IF EXISTS cases_state_count_bump(varchar, bigint);
"""

UPSERT = (
    "INSERT INTO cases_casestatecount (state, count) VALUES ({state}, 1) "
    "ON CONFLICT (state) DO UPDATE SET count = count + 1;"
)
DECREMENT = "UPDATE cases_casestatecount SET count = count - 1 WHERE state = {state};"
SQLITE_FORWARD = [
    "CREATE TRIGGER cases_state_count_insert AFTER INSERT ON cases_case BEGIN "
    + UPSERT.format(state="NEW.state")
    + " END;",
    "CREATE TRIGGER cases_state_count_delete AFTER DELETE ON cases_case BEGIN "
    + DECREMENT.format(state="OLD.state")
    + " END;",
    "CREATE TRIGGER cases_state_count_update AFTER UPDATE OF state ON cases_case "
    "WHEN NEW.state IS NOT OLD.state BEGIN "
    + DECREMENT.format(state="OLD.state")
    + " "
    + UPSERT.format(state="NEW.state")
    + " END;",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS cases_state_count_{op};" for op in ("insert", "delete", "update")
]
FILL = (
    "INSERT INTO cases_casestatecount (state, count) "
    "SELECT state, COUNT(*) FROM cases_case GROUP BY state"
)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # No case may move between the count and the trigger's first bump.
        schema_editor.execute("LOCK TABLE cases_case IN SHARE ROW EXCLUSIVE MODE")
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
    else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
        raise NotImplementedError(vendor)
    schema_editor.execute(FILL)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_search_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="CaseStateCount",
            fields=[
                (
                    "state",
                    models.CharField(
                        max_length=40, primary_key=True, serialize=False, verbose_name="state"
                    ),
                ),
                ("count", models.BigIntegerField(default=0, verbose_name="number of cases")),
            ],
            options={
                "verbose_name": "number of cases in a state",
                "verbose_name_plural": "numbers of cases per state",
                "ordering": ["state"],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
