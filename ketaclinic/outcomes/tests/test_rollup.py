"""The rollups: the clinical definitions applied per course, kept current by write-time queueing."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from ketaclinic.clinical.outcomes import Assessment, OutcomeStatus, classify_trajectory
from ketaclinic.conftest import Cast
from ketaclinic.courses.models import Course
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.outcomes import rollup, synthetic
from ketaclinic.outcomes.figures import Figures, Filters, dashboard_figures
from ketaclinic.outcomes.floor import django_runner, floor_figures
from ketaclinic.outcomes.models import CourseOutcome, RefreshQueue, SessionOutcome
from ketaclinic.outcomes.tests.conftest import all_time

T0 = dt.datetime(2026, 1, 5, 15, tzinfo=dt.UTC)


def test_it_finds_loss_of_response_where_classify_trajectory_first_says_so() -> None:
    rng = random.Random(11)
    seen = {"lost": 0, "kept": 0, "never": 0}
    for _ in range(400):
        baseline = rng.randrange(0, 28)
        series = [(T0 + dt.timedelta(days=7 * n), rng.randrange(0, 28)) for n in range(rng.randrange(1, 12))]
        first, lost = rollup.first_loss_of_response("phq9", baseline, series)
        prefixes = [
            classify_trajectory("phq9", baseline, [Assessment(at, s) for at, s in series[: n + 1]]).status
            for n in range(len(series))
        ]
        expected = next((n for n, status in enumerate(prefixes) if status is OutcomeStatus.LOSS_OF_RESPONSE), None)
        assert lost == expected, (baseline, series)
        full = classify_trajectory("phq9", baseline, [Assessment(at, s) for at, s in series])
        if first is None:
            assert full.first_response is None
            seen["never"] += 1
        else:
            assert full.first_response == Assessment(*series[first])
            seen["lost" if lost is not None else "kept"] += 1
    assert min(seen.values()) > 20  # every branch was exercised


@pytest.fixture
def small(cast: Cast) -> synthetic.Network:
    built = synthetic.generate(scale=0.002, seed=3, sites=[cast.site_a], tag="r")
    rollup.rebuild_all()
    return built


def _course_with_six(network: synthetic.Network, indication: str = "trd") -> Course:
    """The first course with six dosed sessions, treating ``indication`` (changed to it if need be)."""
    outcome = CourseOutcome.objects.filter(sessions__gte=6).order_by("course_id").first()
    assert outcome is not None
    if outcome.indication != indication:
        Course.objects.filter(pk=outcome.course_id).update(indication=indication)  # no signal: queue by hand
        rollup.queue_patients([outcome.patient_id])
    return Course.objects.get(pk=outcome.course_id)


def _rewrite_scores(course: Course, scores: list[tuple[dt.datetime, int]], instrument: str = "phq9") -> None:
    QuestionnaireResponse.objects.filter(patient=course.patient, instrument=instrument).delete()
    for at, total in scores:
        QuestionnaireResponse.objects.create(
            patient=course.patient,
            site=course.site,
            instrument=instrument,
            answers={},
            total=total,
            respondent="patient",
            channel="portal",
            completed_at=at,
        )


@pytest.mark.django_db
def test_it_applies_the_definitions_to_a_constructed_course(small: synthetic.Network) -> None:
    course = _course_with_six(small)
    doses = list(SessionOutcome.objects.filter(course_id=course.pk).order_by("sequence"))
    first, sixth = doses[0].dosed_at, doses[5].dosed_at
    RefreshQueue.objects.all().delete()
    _rewrite_scores(
        course,
        [
            (first - dt.timedelta(days=40), 27),  # outside the 30-day look-back: not the baseline
            (first - dt.timedelta(days=2), 20),  # baseline
            (doses[1].dosed_at + dt.timedelta(hours=24), 14),  # 30 %: no benefit
            (doses[2].dosed_at + dt.timedelta(hours=24), 10),  # 50 %: response after 3 sessions
            (sixth + dt.timedelta(days=6), 4),  # remission, within 7 days of the 6th session: end of induction
            (sixth + dt.timedelta(days=8), 3),  # after the window: not the end-of-induction score
            (sixth + dt.timedelta(days=20), 15),  # no benefit
            (sixth + dt.timedelta(days=27), 16),  # second in a row: loss of response
        ],
    )
    assert set(RefreshQueue.objects.values_list("patient_id", flat=True)) == {course.patient_id}  # queued on save
    assert rollup.refresh_pending() >= 1
    assert not RefreshQueue.objects.exists()
    row = CourseOutcome.objects.get(course_id=course.pk)
    assert row.instrument == "phq9"
    assert row.first_dose_at == first
    assert row.baseline_score == 20
    assert row.eoi_at == sixth
    assert (row.eoi_score, row.eoi_response, row.eoi_remission) == (4, True, True)
    assert row.sessions_to_response == 3
    assert row.lost_response is True
    assert row.loss_at == sixth + dt.timedelta(days=27)
    assert row.followup_days == (sixth + dt.timedelta(days=27) - (doses[2].dosed_at + dt.timedelta(hours=24))).days


@pytest.mark.django_db
def test_it_judges_an_anxiety_course_on_the_gad7(small: synthetic.Network) -> None:
    course = _course_with_six(small, "anxiety")
    doses = list(SessionOutcome.objects.filter(course_id=course.pk).order_by("sequence"))
    first, sixth = doses[0].dosed_at, doses[5].dosed_at
    gad7 = [
        (first - dt.timedelta(days=2), 16),  # baseline
        (doses[1].dosed_at + dt.timedelta(hours=24), 12),  # 25 %: partial, no benefit
        (doses[3].dosed_at + dt.timedelta(hours=24), 8),  # 50 %: response after 4 sessions
        (sixth + dt.timedelta(days=6), 4),  # remission (≤4), the end-of-induction score
        (sixth + dt.timedelta(days=20), 9),  # no benefit
        (sixth + dt.timedelta(days=27), 10),  # second in a row: loss of response
    ]
    _rewrite_scores(course, gad7, "gad7")
    # PHQ-9 scores that would say otherwise do not count: the course is measured on the GAD-7.
    _rewrite_scores(course, [(first - dt.timedelta(days=1), 20), (sixth + dt.timedelta(days=1), 19)], "phq9")
    rollup.refresh_pending()
    row = CourseOutcome.objects.get(course_id=course.pk)
    assert (row.instrument, row.not_evaluable_reason) == ("gad7", None)
    assert row.baseline_score == 16
    assert (row.eoi_score, row.eoi_response, row.eoi_remission) == (4, True, True)
    assert row.sessions_to_response == 4
    assert row.first_response_at == doses[3].dosed_at + dt.timedelta(hours=24)
    assert (row.lost_response, row.loss_at) == (True, sixth + dt.timedelta(days=27))
    trajectory = classify_trajectory("gad7", 16, [Assessment(at, s) for at, s in gad7[1:]])
    assert trajectory.status is OutcomeStatus.LOSS_OF_RESPONSE


@pytest.mark.django_db
def test_it_folds_a_new_gad7_response_into_an_anxiety_course(small: synthetic.Network) -> None:
    course = _course_with_six(small, "anxiety")
    doses = list(SessionOutcome.objects.filter(course_id=course.pk).order_by("sequence"))
    first, sixth = doses[0].dosed_at, doses[5].dosed_at
    _rewrite_scores(course, [(first - dt.timedelta(days=2), 16), (sixth + dt.timedelta(days=1), 12)], "gad7")
    rollup.refresh_pending()
    before = CourseOutcome.objects.get(course_id=course.pk)
    assert (before.instrument, before.eoi_response, before.sessions_to_response) == ("gad7", False, None)
    # A new GAD-7, saved one by one as the portal does: the signal queues it to be folded in, not recomputed.
    later = sixth + dt.timedelta(days=3)
    QuestionnaireResponse.objects.create(
        patient=course.patient, site=course.site, instrument="gad7", answers={}, total=3, respondent="patient",
        channel="portal", completed_at=later,
    )  # fmt: skip
    queued = RefreshQueue.objects.get()
    assert (queued.patient_id, queued.response_id is not None) == (course.patient_id, True)
    assert rollup.refresh_pending() == 1
    row = CourseOutcome.objects.get(course_id=course.pk)
    assert (row.eoi_score, row.eoi_response, row.eoi_remission) == (3, True, True)
    assert (row.first_response_at, row.sessions_to_response, row.last_assessment_at) == (later, 6, later)
    assert row.refreshed_at > before.refreshed_at
    # A PHQ-9 for the same patient is queued too, and changes nothing: it is not this course's measure.
    QuestionnaireResponse.objects.create(
        patient=course.patient, site=course.site, instrument="phq9", answers={}, total=27, respondent="patient",
        channel="portal", completed_at=later + dt.timedelta(days=1),
    )  # fmt: skip
    assert rollup.refresh_pending() == 0
    assert CourseOutcome.objects.get(course_id=course.pk).refreshed_at == row.refreshed_at
    folded = _course_rows()
    rollup.rebuild_all()
    assert _course_rows() == folded


@pytest.mark.django_db
def test_it_reports_a_ptsd_course_as_not_evaluable_whatever_its_scores(small: synthetic.Network) -> None:
    course = _course_with_six(small, "ptsd")
    doses = list(SessionOutcome.objects.filter(course_id=course.pk).order_by("sequence"))
    first, sixth = doses[0].dosed_at, doses[5].dosed_at
    # PCL-5 has no sourced response definition; neither these PCL-5 totals nor a PHQ-9 series judge the course.
    _rewrite_scores(course, [(first - dt.timedelta(days=1), 60), (sixth + dt.timedelta(days=1), 10)], "pcl5")
    _rewrite_scores(course, [(first - dt.timedelta(days=1), 20), (sixth + dt.timedelta(days=1), 2)], "phq9")
    rollup.refresh_pending()
    row = CourseOutcome.objects.get(course_id=course.pk)
    assert row.instrument == ""
    assert row.not_evaluable_reason == "no sourced response definition for PCL-5"
    assert row.sessions == len(doses) and row.first_dose_at == first  # the course still counts as treated
    assert (row.baseline_score, row.eoi_score, row.eoi_response, row.eoi_remission) == (None, None, None, None)
    assert (row.sessions_to_response, row.followup_days, row.lost_response) == (None, None, False)
    # New responses of any kind leave it so, folded or not.
    QuestionnaireResponse.objects.create(
        patient=course.patient, site=course.site, instrument="phq9", answers={}, total=1, respondent="patient",
        channel="portal", completed_at=sixth + dt.timedelta(days=2),
    )  # fmt: skip
    assert rollup.refresh_pending() == 0
    assert CourseOutcome.objects.get(course_id=course.pk).eoi_response is None


@pytest.mark.django_db
def test_it_leaves_a_course_without_baseline_unevaluable(small: synthetic.Network) -> None:
    course = _course_with_six(small)
    first = SessionOutcome.objects.get(course_id=course.pk, sequence=1).dosed_at
    _rewrite_scores(course, [(first + dt.timedelta(days=1), 5), (first + dt.timedelta(days=20), 3)])
    rollup.refresh_pending()
    row = CourseOutcome.objects.get(course_id=course.pk)
    assert row.baseline_score is None
    assert row.eoi_response is None and row.sessions_to_response is None and row.followup_days is None


@pytest.mark.django_db
def test_it_queues_session_day_writes_and_counts_them(small: synthetic.Network) -> None:
    from ketaclinic.dosing.models import AdverseEvent, ScaleObservation

    session = SessionOutcome.objects.order_by("session_id").first()
    assert session is not None
    RefreshQueue.objects.all().delete()
    AdverseEvent.objects.create(
        session_id=session.session_id,
        kind="headache",
        severity="severe",
        serious=True,
        onset_at=session.dosed_at,
        outcome="resolved",
        recorded_by=small.staff["nurse"],
    )
    ScaleObservation.objects.create(
        session_id=session.session_id,
        instrument="cadss",
        total=Decimal("40"),
        observed_by=small.staff["nurse"],
        observed_at=session.dosed_at,
    )
    assert RefreshQueue.objects.filter(patient_id=session.patient_id).count() == 2
    rollup.refresh_pending()
    after = SessionOutcome.objects.get(session_id=session.session_id)
    assert after.adverse_events == session.adverse_events + 1
    assert after.serious_adverse_events == session.serious_adverse_events + 1
    # The full CADSS outranks a CADSS-6; the peak is the session's highest full CADSS.
    had_full = session.dissociation_instrument == "cadss" and session.dissociation_max is not None
    expected = max(Decimal("40"), session.dissociation_max or 0) if had_full else Decimal("40")
    assert (after.dissociation_instrument, after.dissociation_max) == ("cadss", expected)


def _floor(filters: Filters) -> Figures:
    run, dialect = django_runner()
    return floor_figures(run, dialect, filters)


@pytest.mark.django_db
def test_it_refreshes_incrementally_to_the_same_figures_as_a_rebuild(cast: Cast) -> None:
    network = synthetic.generate(scale=0.01, seed=5, sites=[cast.site_a, cast.site_b], tag="i")
    rollup.rebuild_all()
    filters = all_time(network)
    before = dashboard_figures(filters)
    measured = CourseOutcome.objects.order_by("course_id").values_list("patient_id", "site_id", "instrument")
    assert {i for _, _, i in measured} == {"phq9", "gad7", ""}  # depression, anxiety and PTSD courses
    patients = [(p, s) for p, s, _ in measured]
    # New scores on each course's own measure (PHQ-9 for a PTSD course, which has none), after everything counted so
    # far, inserted in bulk and queued: folded in without re-reading.
    rows = QuestionnaireResponse.objects.bulk_create(
        [
            QuestionnaireResponse(
                patient_id=p, site_id=s, instrument=i or "phq9", answers={}, respondent="patient", channel="portal",
                total=(7 * n) % (22 if i == "gad7" else 28),
                completed_at=dt.datetime(2027, 3, 1, tzinfo=dt.UTC) + dt.timedelta(hours=n),
            )
            for n, (p, s, i) in enumerate(list(measured) * 3)
        ]
    )  # fmt: skip
    rollup.queue_responses(rows)
    # Courses that ended before these dates do not count them, nor do courses without a measure; the others change.
    unended = CourseOutcome.objects.filter(course_id__in=Course.objects.filter(ended_at__isnull=True).values("pk"))
    changed = unended.exclude(instrument="").count()
    assert rollup.refresh_pending() == changed < len(patients)
    assert unended.filter(instrument="gad7").exists()
    folded = dashboard_figures(filters)
    assert folded == _floor(filters)
    assert folded != before and folded.losses > before.losses
    # A late-arriving score dated before the latest one (saved one by one: the signal queues it) is recomputed.
    patient_id, site_id = patients[0]
    course = CourseOutcome.objects.get(patient_id=patient_id)
    assert course.first_dose_at is not None
    QuestionnaireResponse.objects.create(
        patient_id=patient_id, site_id=site_id, instrument="phq9", answers={}, total=1, respondent="patient",
        channel="portal", completed_at=course.first_dose_at + dt.timedelta(days=2),
    )  # fmt: skip
    assert RefreshQueue.objects.get().response_id is not None
    assert rollup.refresh_pending() == 1
    assert dashboard_figures(filters) == _floor(filters)
    # Deleting a response queues the patient for a recomputation too.
    QuestionnaireResponse.objects.filter(patient_id=patient_id).order_by("completed_at").first().delete()
    assert rollup.refresh_pending() == 1
    incremental = dashboard_figures(filters)
    assert incremental == _floor(filters)
    rollup.rebuild_all()
    assert dashboard_figures(filters) == incremental


@pytest.mark.django_db
def test_it_keeps_rows_queued_during_a_refresh() -> None:
    RefreshQueue.objects.create(patient_id=999_999)
    assert rollup.refresh_pending() == 0  # no course for that patient
    assert not RefreshQueue.objects.exists()
    assert rollup.refresh_pending() == 0


@pytest.mark.django_db
def test_the_demo_seed_rebuilds_every_rollup(cast: Cast) -> None:
    from ketaclinic.outcomes import demo

    synthetic.generate(scale=0.001, seed=2, sites=[cast.site_a], tag="d")
    said: list[str] = []
    demo.seed(said.append)
    assert said == ["  outcomes: 5 course rollups rebuilt"]
    assert CourseOutcome.objects.count() == 5


def _course_rows() -> dict[int, dict[str, object]]:
    rows: dict[int, dict[str, object]] = {}
    for row in CourseOutcome.objects.values():
        values: dict[str, object] = {k: v for k, v in row.items() if k not in ("course_id", "refreshed_at")}
        if values["lost_response"]:
            values["without_benefit"] = None  # a fold keeps counting to the loss, a recompute stops: unused after it
        rows[row["course_id"]] = values
    return rows


@pytest.mark.django_db
def test_it_folds_new_assessments_into_the_same_rows_as_a_recompute(cast: Cast) -> None:
    synthetic.generate(scale=0.01, seed=9, sites=[cast.site_a], tag="f")
    rollup.rebuild_all()
    before = {r.course_id: r.refreshed_at for r in CourseOutcome.objects.all()}
    patients = list(CourseOutcome.objects.order_by("course_id").values_list("patient_id", "site_id", "instrument"))
    rng = random.Random(4)
    rows = QuestionnaireResponse.objects.bulk_create(
        [
            QuestionnaireResponse(
                patient_id=p, site_id=s, instrument=i or "phq9", answers={}, total=rng.randrange(22),
                respondent="patient", channel="portal",
                completed_at=dt.datetime(2027, 3, 1, tzinfo=dt.UTC) + dt.timedelta(days=n),
            )
            for n, (p, s, i) in enumerate(patients * 4)
        ]
    )  # fmt: skip
    rollup.queue_responses(rows)
    folded = rollup.refresh_pending()
    changed = {r.course_id for r in CourseOutcome.objects.all() if r.refreshed_at != before[r.course_id]}
    assert len(changed) == folded > 0  # one UPDATE stamped exactly the folded rows
    incremental = _course_rows()
    rollup.rebuild_all()
    assert incremental == _course_rows()


def test_it_writes_postgresql_array_literals() -> None:
    at = dt.datetime(2027, 3, 1, 9, 30, 0, 250, tzinfo=dt.UTC)
    assert rollup._pg_array([1, None, 30]) == "{1,NULL,30}"
    assert rollup._pg_array([True, False, None]) == "{True,False,NULL}"
    assert rollup._pg_array([at, None]) == "{2027-03-01T09:30:00.000250+00:00,NULL}"
    assert rollup._pg_array([]) == "{}"


@pytest.mark.django_db
def test_it_reads_back_the_array_literals_on_postgresql() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL array literals")
    at = dt.datetime(2027, 3, 1, 9, 30, 0, 250, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::timestamptz[], %s::boolean[], %s::smallint[]",
            [rollup._pg_array([at, None]), rollup._pg_array([True, None]), rollup._pg_array([3, None])],
        )
        assert cursor.fetchone() == ([at, None], [True, None], [3, None])
