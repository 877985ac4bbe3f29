"""Each course is evaluated on its indication's primary outcome; the rollup records which instrument.

Rows written before this migration were all evaluated on the PHQ-9. Depression-group courses keep their figures and
get ``phq9``. Every other course's row held PHQ-9 figures that no longer apply (anxiety is now judged on the GAD-7;
PTSD, OCD, chronic pain, migraine and alcohol use on nothing), so those figures are cleared and the patients queued:
the next refresh (the ``outcomes.refresh`` job, or the dashboard's own refresh on view) recomputes them from the
record, as ``rollup.rebuild_all()`` would. No PHQ-9 figure is ever shown for a course it no longer describes.
"""

from django.db import migrations, models
from django.utils import timezone

#: Frozen here (a migration must not follow later code): the depression group of clinical.measurement.
DEPRESSION_GROUP = ("trd", "mdsi", "depression")
BATCH = 500


def label_and_queue(apps, schema_editor):
    CourseOutcome = apps.get_model("outcomes", "CourseOutcome")
    RefreshQueue = apps.get_model("outcomes", "RefreshQueue")
    CourseOutcome.objects.filter(indication__in=DEPRESSION_GROUP).update(instrument="phq9")
    others = CourseOutcome.objects.exclude(indication__in=DEPRESSION_GROUP)
    patients = sorted(set(others.values_list("patient_id", flat=True)))
    others.update(
        baseline_score=None,
        eoi_score=None,
        eoi_response=None,
        eoi_remission=None,
        first_response_at=None,
        sessions_to_response=None,
        followup_days=None,
        lost_response=False,
        loss_at=None,
        last_assessment_at=None,
        without_benefit=0,
    )
    now = timezone.now()
    RefreshQueue.objects.bulk_create(
        [RefreshQueue(patient_id=p, response_id=None, queued_at=now) for p in patients], batch_size=BATCH
    )


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="courseoutcome",
            name="instrument",
            field=models.CharField(
                blank=True,
                help_text="The measure the course is evaluated on; empty: no primary outcome.",
                max_length=20,
            ),
        ),
        migrations.RunPython(label_and_queue, migrations.RunPython.noop),
    ]
