"""On PostgreSQL, leave room in each page of the course rollups so that folding a new assessment into a row is a
heap-only (HOT) update.

The columns a fold changes (see ``rollup.FOLD_CHANGES``) are in no index, so PostgreSQL can rewrite such a row in
place on its page — if the page has room. At the default fillfactor (100) a table loaded by COPY has none, every
update moves the row and adds an entry to each of its five indexes, and one UPDATE of ~500 rows cost more than
deleting and re-copying them (~20 ms against ~3 ms as HOT updates, measured at the benchmark's full scale).
SQLite has no such setting.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE outcomes_courseoutcome SET (fillfactor = 70)", params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE outcomes_courseoutcome RESET (fillfactor)", params=None)


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
