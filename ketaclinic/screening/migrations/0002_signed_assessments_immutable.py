"""On PostgreSQL, refuse in the database itself any change to a signed assessment but its supersession.

A signed row may only change ``status`` from ``signed`` to ``superseded``; a superseded row never changes; signed or
superseded rows are never deleted. SQLite relies on the model and queryset guards. TRUNCATE (how test databases are
reset) is not affected.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION screening_assessment_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'signed eligibility assessments cannot be deleted' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'superseded'
       OR (OLD.status = 'signed'
           AND (NEW.status <> 'superseded' OR (to_jsonb(NEW) - 'status') IS DISTINCT FROM (to_jsonb(OLD) - 'status')))
    THEN
        RAISE EXCEPTION 'signed eligibility assessments are immutable' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS screening_assessment_immutable ON screening_eligibilityassessment;
CREATE TRIGGER screening_assessment_immutable BEFORE UPDATE OR DELETE ON screening_eligibilityassessment
    FOR EACH ROW EXECUTE FUNCTION screening_assessment_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS screening_assessment_immutable ON screening_eligibilityassessment;
DROP FUNCTION IF EXISTS screening_assessment_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("screening", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
