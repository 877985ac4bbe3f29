"""Task screens: the list (urgent first, overdue marked), one task and closing it, the home-screen alerts."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.http import Http404
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.middleware import ACTIVITY_SESSION_KEY
from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.measures.actions import record_response
from ketaclinic.patients.models import Patient
from ketaclinic.tasks.access import access_task, alert_tasks, tasks_visible_to
from ketaclinic.tasks.actions import close_task, raise_task
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db

CLINICIANS = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}
NOW = dt.datetime(2026, 5, 4, 15, 0, tzinfo=dt.UTC)


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", response.content.decode())).split())


class TestTaskList(PermissionMatrix):
    allowed = CLINICIANS

    def url(self, cast: Cast) -> str:
        return reverse("tasks:list")


class TestTaskDetail(PermissionMatrix):
    allowed = CLINICIANS
    patient_scoped = True

    def url(self, cast: Cast) -> str:
        from ketaclinic.tasks.tests.conftest import _patient

        task = raise_task(_patient(cast.site_a, cast.coordinator, "Matrix"), kind=Task.Kind.OTHER, title="Call back")
        return reverse("tasks:detail", args=[task.pk])


class TestAlertsWidget(PermissionMatrix):
    allowed = CLINICIANS

    def url(self, cast: Cast) -> str:
        return reverse("tasks:widget")


def test_the_list_puts_urgent_first_marks_overdue_and_suicide_risk(
    client: Client, cast: Cast, patient: Patient, patient_b: Patient
) -> None:
    with time_machine.travel(NOW - dt.timedelta(hours=2), tick=False):
        late = raise_task(patient, kind=Task.Kind.OTHER, title="Late routine call", due_at=NOW - dt.timedelta(hours=1))
    with time_machine.travel(NOW, tick=False):
        routine = raise_task(patient, kind=Task.Kind.INTAKE_REVIEW, title="Review the portal intake")
        suicide = record_response(patient, "phq9", [0] * 8 + [2], respondent="patient", channel="portal")
        raise_task(patient_b, kind=Task.Kind.OTHER, title="Other site's task", priority=Task.Priority.URGENT)
    client.force_login(cast.therapist)
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        response = client.get(reverse("tasks:list"))
    assert response.status_code == 200
    body = response.content.decode()
    urgent = Task.objects.get(kind=Task.Kind.SUICIDE_RISK, patient=patient)
    order = [body.index(f'href="/tasks/{t.pk}/"') for t in (urgent, late, routine)]
    assert order == sorted(order)
    assert "Other site's task" not in body
    row = body[body.index(f'href="/tasks/{urgent.pk}/"') - 400 :]
    assert "kind-suicide_risk" in body and "Suicide risk" in text(response)
    assert "overdue" in body[body.index(f'href="/tasks/{late.pk}/"') - 600 : body.index(f'href="/tasks/{late.pk}/"')]
    assert "3 open tasks." in text(response)
    assert suicide.flags == ["suicidal_ideation"] and row
    assert AuditEvent.objects.filter(action="list", object_type="tasks.task", detail__count=3).exists()


def test_the_list_filters_closed_tasks(client: Client, cast: Cast, patient: Patient) -> None:
    open_task = raise_task(patient, kind=Task.Kind.OTHER, title="Still open")
    done = raise_task(patient, kind=Task.Kind.OTHER, title="Already done")
    close_task(done, by=cast.nurse, resolution="Called, nothing further needed.")
    client.force_login(cast.nurse)
    closed = client.get(reverse("tasks:list"), {"status": "done"})
    assert "Already done" in closed.content.decode() and "Still open" not in closed.content.decode()
    assert "1 closed task." in text(closed)
    default = client.get(reverse("tasks:list"), {"status": "bogus"})
    assert open_task.title in default.content.decode() and "Already done" not in default.content.decode()


def test_the_list_pages_through_many_tasks_in_few_queries(
    client: Client, cast: Cast, patient: Patient, django_assert_max_num_queries
) -> None:
    for n in range(60):
        raise_task(patient, kind=Task.Kind.OTHER, title=f"Task {n}")
    client.force_login(cast.nurse)
    with django_assert_max_num_queries(20):
        first = client.get(reverse("tasks:list"))
    assert "Page 1 of 2" in text(first)
    assert "Page 2 of 2" in text(client.get(reverse("tasks:list"), {"page": 2}))


def test_the_detail_shows_the_patient_and_why_and_closes_with_a_resolution(
    client: Client, cast: Cast, patient: Patient
) -> None:
    record_response(patient, "phq9", [1] * 8 + [1], respondent="patient", channel="portal")
    task = Task.objects.get(kind=Task.Kind.SUICIDE_RISK)
    client.force_login(cast.prescriber)
    page = client.get(reverse("tasks:detail", args=[task.pk]))
    assert page.status_code == 200
    body = text(page)
    assert "Casey Taskpatient" in body and patient.mrn in body
    assert "PHQ9 completed" in body and "total 9" in body and "item 9 = 1" in body
    assert f'href="{reverse("patients:chart", args=[patient.pk])}"' in page.content.decode()
    assert AuditEvent.objects.filter(action="view", object_type="tasks.task", actor=cast.prescriber).exists()
    # A suicide-risk follow-up closes only with the structured assessment (level, actions, note).
    short = client.post(reverse("tasks:detail", args=[task.pk]), {"note": "ok fine"})
    assert short.status_code == 400
    assert "Assessment note: describe the assessment (at least 10 characters)." in text(short)
    assert "Risk level assessed: choose none, low, moderate or high." in text(short)
    assert "ok fine" in short.content.decode()
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
    done = client.post(
        reverse("tasks:detail", args=[task.pk]),
        {"assessed_risk": "low", "actions": ["safety_plan"], "note": "Phoned: C-SSRS low risk, plan."},
    )
    assert done.status_code == 302 and done["Location"] == reverse("tasks:list")
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.closed_by == cast.prescriber
    closed_page = text(client.get(reverse("tasks:detail", args=[task.pk])))
    assert "Phoned: C-SSRS low risk, plan." in closed_page and "Close task" not in closed_page


def test_closing_a_task_someone_else_just_closed_answers_400(client: Client, cast: Cast, patient: Patient) -> None:
    task = raise_task(patient, kind=Task.Kind.OTHER, title="Call back")
    client.force_login(cast.nurse)
    client.get(reverse("tasks:detail", args=[task.pk]))
    close_task(task, by=cast.prescriber, resolution="Handled by the prescriber.")
    response = client.post(reverse("tasks:detail", args=[task.pk]), {"resolution": "Also handled it myself."})
    assert response.status_code == 400
    assert "Not closed: this task is already closed." in text(response)


def test_other_sites_tasks_are_404(client: Client, cast: Cast, patient: Patient) -> None:
    task = raise_task(patient, kind=Task.Kind.OTHER, title="Call back")
    client.force_login(cast.nurse_b)
    assert client.get(reverse("tasks:detail", args=[task.pk])).status_code == 404
    assert (
        client.post(reverse("tasks:detail", args=[task.pk]), {"resolution": "Closing from elsewhere."}).status_code
        == 404
    )
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN


def test_the_detail_links_to_the_intake_review_or_the_links_page(client: Client, cast: Cast, patient: Patient) -> None:
    review = raise_task(
        patient, kind=Task.Kind.INTAKE_REVIEW, title="Review", source_type="portal.intakesubmission", source_id=5
    )
    renew = raise_task(patient, kind=Task.Kind.OTHER, title="New link", source_type="portal.link_renewal", source_id=3)
    client.force_login(cast.nurse)
    assert reverse("portal:review", args=[5]) in client.get(reverse("tasks:detail", args=[review.pk])).content.decode()
    assert (
        reverse("portal:patient_links", args=[patient.pk])
        in client.get(reverse("tasks:detail", args=[renew.pk])).content.decode()
    )


def test_access_functions(cast: Cast, patient: Patient) -> None:
    task = raise_task(patient, kind=Task.Kind.OTHER, title="Call back")
    assert access_task(cast.nurse, str(task.pk)) == task
    for user, task_id in ((cast.nurse, "abc"), (cast.nurse_b, task.pk), (cast.coordinator, task.pk)):
        with pytest.raises(Http404):
            access_task(user, task_id)
    assert not tasks_visible_to(None).exists()
    assert list(tasks_visible_to(cast.therapist)) == [task]
    assert not alert_tasks(cast.nurse, None).exists()
    assert AuditEvent.objects.filter(object_type="tasks.task", outcome="not_found").count() == 2


def test_home_shows_clinicians_their_sites_urgent_and_high_tasks(
    client: Client, cast: Cast, patient: Patient, patient_b: Patient
) -> None:
    record_response(patient, "phq9", [0] * 8 + [1], respondent="patient", channel="portal")
    raise_task(patient, kind=Task.Kind.OTHER, title="A routine chore")
    raise_task(patient, kind=Task.Kind.OTHER, title="A high one", priority=Task.Priority.HIGH)
    raise_task(patient_b, kind=Task.Kind.OTHER, title="Site B urgent", priority=Task.Priority.URGENT)
    client.force_login(cast.nurse)
    body = client.get(reverse("home")).content.decode()
    assert 'id="task-alerts"' in body
    assert "Suicide-risk follow-up: positive PHQ-9" in body and "A high one" in body
    assert body.index("Suicide-risk follow-up") < body.index("A high one")
    assert "A routine chore" not in body and "Site B urgent" not in body
    assert 'hx-trigger="every 30s' in body and '"X-Ketaclinic-Background": "1"' in body
    client.force_login(cast.coordinator)
    assert 'id="task-alerts"' not in client.get(reverse("home")).content.decode()


def test_polling_the_alerts_does_not_count_as_activity(client: Client, cast: Cast, patient: Patient) -> None:
    client.force_login(cast.nurse)
    client.get(reverse("home"))
    before = client.session[ACTIVITY_SESSION_KEY]
    raise_task(patient, kind=Task.Kind.OTHER, title="Fresh urgent", priority=Task.Priority.URGENT)
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=5)):
        polled = client.get(reverse("tasks:widget"), headers={"X-Ketaclinic-Background": "1", "HX-Request": "true"})
    assert polled.status_code == 200
    assert "Fresh urgent" in polled.content.decode() and "<html" not in polled.content.decode()
    assert client.session[ACTIVITY_SESSION_KEY] == before
