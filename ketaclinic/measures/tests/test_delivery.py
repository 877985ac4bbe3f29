"""Delivery: the job e-mails one link per patient for the set open now and one reminder; the link opens the due set;
bad input keeps what was typed; a resend stores once; a positive screen shows crisis help at once; an expired link
explains itself; staff fill a clinician-rated MADRS on a tablet."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from ketaclinic.conftest import Cast
from ketaclinic.courses.models import Course
from ketaclinic.courses.tests.conftest import (  # noqa: F401 — fixtures
    NOW,
    clinic,
    eligible,
    frozen_clock,
    iv_course,
)
from ketaclinic.measures import jobs
from ketaclinic.measures.models import MeasureDue, QuestionnaireResponse
from ketaclinic.measures.schedule import sync_schedule
from ketaclinic.portal.models import PortalLink
from ketaclinic.portal.tests.conftest import text_of
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db

PHQ9_LOW = {**{f"q{n}": "1" for n in range(1, 9)}, "q9": "0"}


@pytest.fixture
def course(iv_course: Course) -> Course:  # noqa: F811
    patient = iv_course.patient
    patient.email = "robin@example.invalid"
    patient.save(update_fields=["email"])
    sync_schedule(iv_course)
    return iv_course


def send_links(capture: object) -> tuple[str, int]:
    with capture(execute=True):
        sent = jobs.send_due_links()
    token = re.search(r"/p/([A-Za-z0-9_-]+)/questionnaire/", str(mail.outbox[-1].body))
    assert token is not None
    return token.group(1), sent


def set_url(token: str) -> str:
    return reverse("measures_portal:set", kwargs={"token": token})


def test_the_job_sends_one_link_then_one_reminder_and_no_health_data(
    course: Course, django_capture_on_commit_callbacks: object
) -> None:
    _, sent = send_links(django_capture_on_commit_callbacks)
    assert sent == 1 and len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["robin@example.invalid"]
    for private in ("PHQ", "depress", "ketamine", course.patient.legal_last_name):
        assert private not in message.body and private not in message.subject
    link = PortalLink.objects.get(patient=course.patient)
    assert link.purpose == PortalLink.Purpose.QUESTIONNAIRE and link.created_by is None
    portal = MeasureDue.objects.filter(course=course, delivery="portal")
    assert portal.count() == 3 and all(d.notified_at == NOW for d in portal)
    assert not MeasureDue.objects.filter(course=course, delivery="clinic", notified_at__isnull=False).exists()
    # The next round sends nothing; a day later one reminder with a fresh link; then nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.send_due_links() == 0
    with time_machine.travel(NOW + dt.timedelta(hours=25), tick=False):
        _, sent = send_links(django_capture_on_commit_callbacks)
        assert sent == 1 and len(mail.outbox) == 2
        with django_capture_on_commit_callbacks(execute=True):
            assert jobs.measure_links() == 0
    assert len(mail.outbox) == 2


def test_a_failed_email_is_retried_next_round(course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("smtp down")

    monkeypatch.setattr("ketaclinic.portal.actions.create_link", broken)
    assert jobs.send_due_links() == 0
    assert not MeasureDue.objects.filter(notified_at__isnull=False).exists()


def test_the_patient_completes_the_set_with_bad_input_kept_and_a_resend_stored_once(
    course: Course, django_capture_on_commit_callbacks: object
) -> None:
    token, _ = send_links(django_capture_on_commit_callbacks)
    client = Client()
    page = client.get(set_url(token))
    assert page.status_code == 200
    assert "PHQ-9" in text_of(page) and "QIDS-SR16" in text_of(page)
    phq9 = MeasureDue.objects.get(course=course, instrument="phq9")
    answer_url = reverse("measures_portal:answer", kwargs={"token": token, "due_id": phq9.pk})
    half = {k: v for k, v in PHQ9_LOW.items() if k != "q4"}
    half["q2"] = "7"  # out of range
    bad = client.post(answer_url, half)
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "Some questions still need an answer" in text_of(bad)
    assert 'id="q-q4"' in body and re.search(r'class="question has-error" id="q-q4"', body)
    assert re.search(r'class="question has-error" id="q-q2"', body)
    assert re.search(r'name="q1" value="1"[^>]*checked', body)  # what was typed is kept
    ok = client.post(answer_url, PHQ9_LOW)
    assert ok.status_code == 302 and ok["Location"] == set_url(token)
    again = client.post(answer_url, {**PHQ9_LOW, "q1": "3"})
    assert again.status_code == 302
    stored = QuestionnaireResponse.objects.get(patient=course.patient, instrument="phq9")
    assert stored.total == 8 and stored.answers["q1"] == 1 and stored.channel == "portal"
    assert stored.respondent == "patient" and stored.loinc_panel == "44249-1" and stored.course_id == course.pk
    for due in MeasureDue.objects.filter(course=course, delivery="portal").exclude(instrument="phq9"):
        url = reverse("measures_portal:answer", kwargs={"token": token, "due_id": due.pk})
        data = (
            {"q1": "no", "q2": "no", "q6": "no"}
            if due.instrument == "cssrs_screener"
            else {f"q{n}": "0" for n in range(1, 17)}
        )
        assert client.get(url).status_code == 200
        assert client.post(url, data).status_code == 302
    done = client.get(set_url(token))
    assert "Thank you — your answers were sent" in text_of(done)
    assert "Your progress" in text_of(done)
    assert PortalLink.objects.get(patient=course.patient).completed_at is not None
    assert not Task.objects.filter(kind=Task.Kind.SUICIDE_RISK).exists()
    gone = client.get(set_url(token))
    assert gone.status_code == 410


def test_item_9_shows_crisis_help_at_once_and_one_task_for_the_sitting(
    course: Course, django_capture_on_commit_callbacks: object
) -> None:
    token, _ = send_links(django_capture_on_commit_callbacks)
    client = Client()
    phq9 = MeasureDue.objects.get(course=course, instrument="phq9")
    cssrs = MeasureDue.objects.get(course=course, instrument="cssrs_screener")
    response = client.post(
        reverse("measures_portal:answer", kwargs={"token": token, "due_id": phq9.pk}), {**PHQ9_LOW, "q9": "2"}
    )
    assert response["Location"] == reverse("measures_portal:support", kwargs={"token": token})
    crisis = client.get(response["Location"])
    assert "Call or text 988" in text_of(crisis) and 'href="tel:988"' in crisis.content.decode()
    task = Task.objects.get(kind=Task.Kind.SUICIDE_RISK, patient=course.patient)
    assert (task.risk_tier, task.priority, task.due_at) == ("high", "urgent", NOW + dt.timedelta(hours=1))
    # The C-SSRS in the same sitting re-triages the same task (moderate at least), its due time never later.
    client.post(
        reverse("measures_portal:answer", kwargs={"token": token, "due_id": cssrs.pk}),
        {"q1": "yes", "q2": "no", "q6": "no"},
    )
    task.refresh_from_db()
    assert Task.objects.filter(kind=Task.Kind.SUICIDE_RISK).count() == 1
    assert (task.risk_tier, task.due_at) == ("moderate", NOW + dt.timedelta(hours=1))
    remaining = text_of(client.get(set_url(token)))
    assert "Help is available now" in remaining
    assert "Already sent: PHQ-9, C-SSRS Screener (recent)." in remaining


def test_an_expired_link_explains_itself(course: Course, django_capture_on_commit_callbacks: object) -> None:
    token, _ = send_links(django_capture_on_commit_callbacks)
    with time_machine.travel(NOW + dt.timedelta(days=4), tick=False):
        page = Client().get(set_url(token))
    assert page.status_code == 410
    assert "expired" in text_of(page).lower()


def test_a_question_not_in_the_set_is_404_and_a_closed_one_goes_back(
    course: Course, django_capture_on_commit_callbacks: object
) -> None:
    token, _ = send_links(django_capture_on_commit_callbacks)
    madrs = MeasureDue.objects.get(course=course, instrument="madrs")
    client = Client()
    assert client.get(reverse("measures_portal:answer", kwargs={"token": token, "due_id": madrs.pk})).status_code == 404
    phq9 = MeasureDue.objects.get(course=course, instrument="phq9")
    MeasureDue.objects.filter(pk=phq9.pk).update(closes_at=NOW)
    url = reverse("measures_portal:answer", kwargs={"token": token, "due_id": phq9.pk})
    assert client.get(url)["Location"] == set_url(token)


def test_nothing_due_says_so(course: Course, cast: Cast) -> None:
    from ketaclinic.portal.actions import create_link

    MeasureDue.objects.all().delete()
    _, token = create_link(course.patient, purpose=PortalLink.Purpose.QUESTIONNAIRE, by=cast.coordinator, email=None)
    page = Client().get(set_url(token))
    assert "Nothing to answer right now" in text_of(page)
    # The portal's front door sends a questionnaire link to its set.
    assert Client().get(reverse("portal:start", kwargs={"token": token}))["Location"] == set_url(token)


def test_staff_rate_madrs_on_a_tablet_and_bad_input_is_400(course: Course, cast: Cast) -> None:
    client = Client()
    client.force_login(cast.nurse)
    page = client.get(reverse("measures:page", args=[course.patient.pk]))
    assert page.status_code == 200 and "MADRS" in text_of(page)
    madrs = MeasureDue.objects.get(course=course, instrument="madrs")
    url = reverse("measures:enter", args=[course.patient.pk, madrs.pk])
    form = client.get(url)
    assert "Clinician-rated" in text_of(form) and "licence" in text_of(form)
    partial = {f"q{n}": "2" for n in range(1, 10)}
    bad = client.post(url, partial)
    assert bad.status_code == 400 and re.search(r'class="question has-error" id="q-q10"', bad.content.decode())
    good = client.post(url, {**partial, "q10": "0"})
    assert good.status_code == 302
    stored = QuestionnaireResponse.objects.get(instrument="madrs")
    assert (stored.respondent, stored.channel, stored.total, stored.entered_by) == (
        "clinician",
        "clinic",
        18,
        cast.nurse,
    )
    again = client.post(url, {**partial, "q10": "0"})
    assert again.status_code == 302 and QuestionnaireResponse.objects.filter(instrument="madrs").count() == 1


def test_staff_entered_positive_screen_warns_and_raises_the_task(course: Course, cast: Cast) -> None:
    client = Client()
    client.force_login(cast.nurse)
    phq9 = MeasureDue.objects.get(course=course, instrument="phq9")
    response = client.post(
        reverse("measures:enter", args=[course.patient.pk, phq9.pk]), {**PHQ9_LOW, "q9": "1"}, follow=True
    )
    assert "Positive suicide screen" in text_of(response)
    assert Task.objects.filter(kind=Task.Kind.SUICIDE_RISK, patient=course.patient).count() == 1
    assert QuestionnaireResponse.objects.get(instrument="phq9").respondent == "patient"


def test_who_may_do_what(course: Course, cast: Cast, django_capture_on_commit_callbacks: object) -> None:
    patient = course.patient
    due = MeasureDue.objects.get(course=course, instrument="phq9")
    coordinator = Client()
    coordinator.force_login(cast.coordinator)  # front desk: no clinical chart
    assert coordinator.get(reverse("measures:page", args=[patient.pk])).status_code == 403
    assert coordinator.get(reverse("measures:trajectory", args=[patient.pk])).status_code == 403
    therapist = Client()
    therapist.force_login(cast.therapist)
    entered = therapist.post(reverse("measures:enter", args=[patient.pk, due.pk]), PHQ9_LOW)
    assert entered.status_code == 403  # a therapist reads the chart but does not enter measures
    other_site = Client()
    other_site.force_login(cast.nurse_b)
    assert other_site.get(reverse("measures:page", args=[patient.pk])).status_code == 404
    nurse = Client()
    nurse.force_login(cast.nurse)
    assert nurse.get(reverse("measures:enter", args=[patient.pk, 999999])).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        sent = nurse.post(reverse("measures:send", args=[patient.pk]), follow=True)
    assert "questionnaires e-mailed" in text_of(sent) or "questionnaire e-mailed" in text_of(sent)
    assert len(mail.outbox) == 1


@override_settings(MEASURES_LICENSED_INSTRUMENTS=["ybocs"])
def test_the_send_button_refuses_when_nothing_is_open(course: Course, cast: Cast) -> None:
    MeasureDue.objects.filter(delivery="portal").update(closes_at=NOW)
    nurse = Client()
    nurse.force_login(cast.nurse)
    response = nurse.post(reverse("measures:send", args=[course.patient.pk]), follow=True)
    assert "Nothing to send" in text_of(response)
