"""What the scheduling screens do: book (conflicts → 409 with clickable alternatives, bad fields → 400), reschedule
from offered slots, cancel, no-show, check-in, calendars, roster, chairs and rooms, and the policy."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from ketaclinic.scheduling.actions import book_appointment
from ketaclinic.scheduling.models import Appointment, Resource, SitePolicy, StaffShift
from ketaclinic.scheduling.tests.conftest import CHICAGO, at


@pytest.fixture
def desk(client, cast, clinic):
    client.force_login(cast.coordinator)
    return client


def book_data(patient, types, **overrides):
    data = {
        "patient": patient.pk,
        "appointment_type": types["ketamine_iv"].pk,
        "date": "2026-11-02",
        "time": "10:00",
        "resource": "",
        "staff": "",
    }
    data.update(overrides)
    return data


# --- booking --------------------------------------------------------------------------------------------------


def test_the_booking_form_finds_patients_at_the_site(desk, patient, patient_b):
    response = desk.get(reverse("scheduling:book"), {"q": "Quill"})
    assert response.status_code == 200
    assert "Book for Morgan Quill" in response.content.decode()
    assert "Other Site" not in desk.get(reverse("scheduling:book"), {"q": "Site"}).content.decode()


def test_it_books_from_the_form_and_shows_the_appointment(desk, patient, types):
    response = desk.post(reverse("scheduling:book"), book_data(patient, types))
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:appointment", args=[appointment.pk])
    page = desk.get(response["Location"]).content.decode()
    assert "Booked IV infusion session for Morgan Quill on Mon 02 Nov 2026 at 10:00 in Chair 1." in page
    assert "Escort home needed" in page


def test_a_conflict_answers_409_with_the_conflicts_and_alternatives_keeping_the_typed_values(
    desk, patient, other_patient, types, chairs, cast
):
    book_appointment(
        patient=other_patient,
        appointment_type=types["ketamine_iv"],
        start=at("2026-11-02", "10:00"),
        by=cast.coordinator,
        resource=chairs[0],
    )
    response = desk.post(reverse("scheduling:book"), book_data(patient, types, resource=chairs[0].pk, time="10:30"))
    assert response.status_code == 409
    page = response.content.decode()
    assert "Chair 1 is booked 10:00–11:10" in page
    assert 'name="alternative"' in page and "Mon 02 Nov 10:30–11:40 · Chair 2" in page
    assert 'value="10:30"' in page  # the typed time is kept
    # One tap on an alternative books it with the rest as typed
    alternative = response.context["alternatives"][0]["value"]
    response = desk.post(
        reverse("scheduling:book"), book_data(patient, types, resource=chairs[0].pk, alternative=alternative)
    )
    assert response.status_code == 302
    booked = Appointment.objects.get(patient=patient)
    assert booked.resource != chairs[0]


def test_a_field_error_answers_400_naming_the_field(desk, patient, types):
    response = desk.post(reverse("scheduling:book"), book_data(patient, types, time="10:10"))
    assert response.status_code == 400
    assert "Time: use a quarter hour (:00, :15, :30 or :45); got 10:10." in response.content.decode()
    response = desk.post(reverse("scheduling:book"), book_data(patient, types, date="2026-10-01"))
    assert response.status_code == 400
    assert "Date and time: 2026-10-01 10:00 is in the past (now 2026-10-28 07:00)." in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_room_of_the_wrong_kind_is_a_field_error(desk, patient, types, rooms):
    response = desk.post(reverse("scheduling:book"), book_data(patient, types, resource=rooms["consult_room"].pk))
    assert response.status_code == 400
    assert "Chair or room: Consult room 1 is a consult room; the IV infusion session needs an infusion chair." in (
        response.content.decode()
    )
    response = desk.post(
        reverse("scheduling:book"),
        book_data(
            patient, types, appointment_type=types["therapy_dosing_support"].pk, resource=rooms["consult_room"].pk
        ),
    )
    assert "the Therapy: dosing-day support needs none; leave it empty." in response.content.decode()


def test_an_action_refusal_is_a_400_not_a_500(desk, patient, types):
    types["ketamine_iv"].active = False
    types["ketamine_iv"].save()
    response = desk.post(reverse("scheduling:book"), book_data(patient, types))
    # an inactive type is not among the choices any more
    assert response.status_code == 400


def test_an_action_value_error_is_shown_with_400(desk, patient, types, cast, monkeypatch):
    def refuse(**kwargs):
        raise ValueError("staff: not here")

    monkeypatch.setattr("ketaclinic.scheduling.views.book_appointment", refuse)
    response = desk.post(reverse("scheduling:book"), book_data(patient, types))
    assert response.status_code == 400 and "staff: not here" in response.content.decode()


def test_the_booking_form_prefills_from_the_calendar(desk, patient, types):
    response = desk.get(reverse("scheduling:book"), {"patient": patient.pk, "date": "2026-11-02", "time": "09:15"})
    assert response.status_code == 200
    assert 'value="2026-11-02"' in response.content.decode() and 'value="09:15"' in response.content.decode()


# --- one appointment ----------------------------------------------------------------------------------------------


@pytest.fixture
def iv(clinic, types, patient, cast):
    return book_appointment(
        patient=patient, appointment_type=types["ketamine_iv"], start=at("2026-11-02", "10:00"), by=cast.coordinator
    )


def test_reschedule_offers_free_slots_and_moves_to_the_one_tapped(desk, iv):
    url = reverse("scheduling:move", args=[iv.pk])
    response = desk.get(url, {"date": "2026-11-04"})
    assert response.status_code == 200
    offers = response.context["offers"]
    assert offers[0]["label"].startswith("Wed 04 Nov 08:00–09:10")
    response = desk.post(url, {"slot": offers[1]["value"], "version": iv.version})
    assert response.status_code == 302
    iv.refresh_from_db()
    assert iv.starts_at == at("2026-11-04", "08:15") and iv.version == 2


def test_reschedule_to_a_typed_time(desk, iv):
    response = desk.post(
        reverse("scheduling:move", args=[iv.pk]), {"date": "2026-11-05", "time": "13:00", "version": 1}
    )
    assert response.status_code == 302
    iv.refresh_from_db()
    assert iv.starts_at.astimezone(CHICAGO).strftime("%Y-%m-%d %H:%M") == "2026-11-05 13:00"


def test_reschedule_conflict_and_stale_version_answer_409(desk, iv, types, cast):
    url = reverse("scheduling:move", args=[iv.pk])
    response = desk.post(url, {"date": "2026-12-25", "time": "10:00", "version": 1})
    assert response.status_code == 409
    assert "closed on 2026-12-25 (Christmas Day)" in response.content.decode()
    assert 'name="slot"' in response.content.decode()
    response = desk.post(url, {"date": "2026-11-05", "time": "13:00", "version": 0})
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()


def test_reschedule_field_errors_answer_400(desk, iv):
    url = reverse("scheduling:move", args=[iv.pk])
    response = desk.post(url, {"date": "", "time": "13:00", "version": 1})
    assert response.status_code == 400
    response = desk.post(url, {"date": "2026-11-05", "time": "13:00", "version": "x"})
    assert response.status_code == 302  # without a readable version the move is not optimistic-locked


def test_reschedule_of_a_cancelled_appointment_is_refused(desk, iv, cast, monkeypatch):
    from ketaclinic.scheduling.actions import cancel_appointment

    cancel_appointment(iv, by=cast.coordinator, reason="unwell")
    url = reverse("scheduling:move", args=[iv.pk])
    assert "can no longer be moved" in desk.get(url).content.decode()
    response = desk.post(url, {"date": "2026-11-05", "time": "13:00"})
    assert response.status_code == 400
    assert "only a booked appointment can be moved" in response.content.decode()


def test_cancel_needs_a_reason_and_frees_the_time(desk, iv):
    url = reverse("scheduling:cancel", args=[iv.pk])
    assert desk.post(url, {"reason": ""}).status_code == 400
    response = desk.post(url, {"reason": "Patient unwell"})
    assert response.status_code == 302
    iv.refresh_from_db()
    assert iv.status == "cancelled" and iv.cancel_reason == "Patient unwell"
    response = desk.post(url, {"reason": "again"})
    assert response.status_code == 400 and "cannot become cancelled" in response.content.decode()


def test_check_in_and_no_show_buttons(desk, iv, client, cast):
    with time_machine.travel(at("2026-11-02", "09:55"), tick=False):
        desk.force_login(cast.coordinator)  # a fresh sign-in: days later the idle sign-out would apply
        page = desk.get(reverse("scheduling:desk")).content.decode()
        assert "Check in" in page and "No-show" not in page and "Escort home needed" in page
        response = desk.post(reverse("scheduling:check_in", args=[iv.pk]), {"next": reverse("scheduling:desk")})
        assert response.status_code == 302 and response["Location"] == reverse("scheduling:desk")
    iv.refresh_from_db()
    assert iv.status == "checked_in"
    response = desk.post(reverse("scheduling:no_show", args=[iv.pk]))
    assert response.status_code == 400
    assert "a no-show can be recorded once the appointment time has begun" in response.content.decode()


def test_a_nurse_may_check_in_but_not_mark_a_no_show(client, cast, iv):
    with time_machine.travel(at("2026-11-02", "10:20"), tick=False):
        client.force_login(cast.nurse)
        assert client.post(reverse("scheduling:no_show", args=[iv.pk])).status_code == 403
        assert client.post(reverse("scheduling:check_in", args=[iv.pk])).status_code == 302
        client.force_login(cast.therapist)
        assert client.post(reverse("scheduling:check_in", args=[iv.pk])).status_code == 403
        client.force_login(cast.nurse_b)
        assert client.post(reverse("scheduling:check_in", args=[iv.pk])).status_code == 404


def test_no_show_after_the_start(desk, iv, cast):
    with time_machine.travel(at("2026-11-02", "10:20"), tick=False):
        desk.force_login(cast.coordinator)
        assert "No-show" in desk.get(reverse("scheduling:appointment", args=[iv.pk])).content.decode()
        assert desk.post(reverse("scheduling:no_show", args=[iv.pk])).status_code == 302
    iv.refresh_from_db()
    assert iv.status == "no_show"


def test_post_only_buttons_refuse_get(desk, iv):
    assert desk.get(reverse("scheduling:no_show", args=[iv.pk])).status_code == 405


# --- calendars ----------------------------------------------------------------------------------------------------


def test_the_day_calendar_shows_blocks_in_their_chairs(desk, iv, types, other_patient, cast):
    book_appointment(
        patient=other_patient,
        appointment_type=types["therapy_dosing_support"],
        start=at("2026-11-02", "10:00"),
        by=cast.coordinator,
    )
    response = desk.get(reverse("scheduling:day"), {"date": "2026-11-02"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Morgan Quill" in page and "10:00–11:10 · IV infusion session" in page
    columns = [c.label for c in response.context["columns"]]
    assert columns[:3] == ["Chair 1", "Chair 2", "Chair 3"] and str(cast.therapist) in columns
    block = response.context["columns"][0].blocks[0]
    assert (block["row"], block["span"], block["col"]) == (10, 5, 2)  # 08:00 is row 2; 10:00 is row 10
    assert "Open 08:00–18:00 · 2 appointments" in page


def test_the_day_calendar_shades_a_closed_day(desk):
    page = desk.get(reverse("scheduling:day"), {"date": "2026-12-25"}).content.decode()
    assert "Closed: Christmas Day." in page
    assert 'class="time hour shut"' in page


def test_the_day_calendar_defaults_to_today_and_ignores_a_bad_date(desk):
    response = desk.get(reverse("scheduling:day"), {"date": "not-a-date"})
    assert response.context["day"] == dt.date(2026, 10, 28)


def test_the_day_calendar_without_rooms_says_so(client, cast, site):
    client.force_login(cast.admin)
    assert "No chairs or rooms are set up" in client.get(reverse("scheduling:day")).content.decode()


def test_other_sites_calendars_are_not_found(desk, cast):
    assert desk.get(reverse("scheduling:day"), {"site": cast.site_b.pk}).status_code == 404
    assert desk.get(reverse("scheduling:day"), {"site": "x"}).status_code == 404


def test_the_week_view_per_site_and_per_chair(desk, iv, chairs):
    response = desk.get(reverse("scheduling:week"), {"date": "2026-11-04"})
    days = response.context["days"]
    assert days[0]["day"] == dt.date(2026, 11, 2) and [a.pk for a in days[0]["appointments"]] == [iv.pk]
    assert days[6]["closed"] and days[6]["closed_reason"] == "no opening hours"
    response = desk.get(reverse("scheduling:week"), {"date": "2026-11-04", "resource": chairs[1].pk})
    assert response.context["resource"] == chairs[1] and response.context["days"][0]["appointments"] == []
    christmas = desk.get(reverse("scheduling:week"), {"date": "2026-12-25"}).context["days"][4]
    assert christmas["closed"] and christmas["closed_reason"] == "Christmas Day"


def test_the_front_desk_list_refreshes_itself(desk, iv):
    page = desk.get(reverse("scheduling:desk"), {"date": "2026-11-02"}).content.decode()
    assert 'hx-trigger="every 60s' in page and "555-0100" in page
    partial = desk.get(reverse("scheduling:desk"), {"date": "2026-11-02"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and "Morgan Quill" in partial.content.decode()


# --- roster, chairs and rooms -------------------------------------------------------------------------------------


def test_the_roster_adds_weekly_shifts(desk, cast):
    response = desk.post(
        reverse("scheduling:shifts"),
        {
            "user": cast.therapist.pk,
            "role_on_shift": "therapist",
            "date": "2027-04-05",
            "starts": "09:00",
            "ends": "13:00",
            "repeat_weeks": 3,
        },
    )
    assert response.status_code == 302
    added = StaffShift.objects.filter(user=cast.therapist, starts_at__gte=at("2027-04-01", "00:00"))
    assert [s.starts_at.astimezone(CHICAGO).strftime("%m-%d %H:%M") for s in added.order_by("starts_at")] == [
        "04-05 09:00",
        "04-12 09:00",
        "04-19 09:00",
    ]
    page = desk.get(reverse("scheduling:shifts"), {"date": "2027-04-05"}).content.decode()
    assert page.count("09:00–13:00") == 2


def test_the_roster_refuses_overlaps_and_bad_times(desk, cast):
    url = reverse("scheduling:shifts")
    base = {"user": cast.nurse.pk, "role_on_shift": "nurse", "date": "2026-11-02", "repeat_weeks": 1}
    response = desk.post(url, {**base, "starts": "09:00", "ends": "12:00"})
    assert response.status_code == 400 and "already has a shift" in response.content.decode()
    response = desk.post(url, {**base, "starts": "12:00", "ends": "09:00"})
    assert response.status_code == 400 and "Until: the shift must end after it starts" in response.content.decode()
    response = desk.post(url, {**base, "starts": "09:05", "ends": "12:00"})
    assert "From: use a quarter hour" in response.content.decode()
    response = desk.post(url, {**base, "starts": "09:00", "ends": "12:10"})
    assert "Until: use a quarter hour" in response.content.decode()


def test_the_roster_removes_a_shift(desk, cast):
    shift = StaffShift.objects.filter(user=cast.nurse).first()
    response = desk.post(reverse("scheduling:shift_remove", args=[shift.pk]))
    assert response.status_code == 302 and not StaffShift.objects.filter(pk=shift.pk).exists()
    assert desk.post(reverse("scheduling:shift_remove", args=[shift.pk])).status_code == 404


@pytest.fixture
def admin(client, cast, clinic):
    client.force_login(cast.admin)
    return client


def test_chairs_and_rooms_are_added_and_edited(admin, cast, chairs, iv):
    url = reverse("scheduling:resources")
    response = admin.post(url, {"form": "resource", "kind": "infusion_chair", "name": "Chair 4", "monitor_label": "M4"})
    assert response.status_code == 302
    assert Resource.objects.filter(site=cast.site_a, name="Chair 4", monitor_label="M4").exists()
    response = admin.post(url, {"form": "resource", "kind": "infusion_chair", "name": "chair 4"})
    assert response.status_code == 400 and "already has a chair 4" in response.content.decode()
    assert admin.post(url, {"form": "resource", "kind": "sofa", "name": "x"}).status_code == 400
    edit = reverse("scheduling:resource_edit", args=[chairs[0].pk])
    assert admin.get(edit).status_code == 200
    response = admin.post(edit, {"name": "Chair 1", "monitor_label": "M1", "active": ""})
    assert response.status_code == 400
    assert "Chair 1 has 1 upcoming appointment; move them to another chair or room first" in response.content.decode()
    assert admin.post(edit, {"name": "Recliner A", "monitor_label": "M1", "active": "on"}).status_code == 302
    chairs[0].refresh_from_db()
    assert chairs[0].name == "Recliner A" and chairs[0].monitor_label == "M1"
    assert admin.post(edit, {"name": "", "active": "on"}).status_code == 400
    other = Resource.objects.create(site=cast.site_b, kind="infusion_chair", name="B")
    assert admin.get(reverse("scheduling:resource_edit", args=[other.pk])).status_code == 404


def test_the_site_policy_is_saved_and_validated(admin, cast):
    url = reverse("scheduling:resources")
    response = admin.post(url, {"form": "policy", "nurse_ratio": 13, "search_days": 28})
    assert response.status_code == 400
    assert admin.post(url, {"form": "policy", "nurse_ratio": 3, "search_days": 14}).status_code == 302
    policy = SitePolicy.objects.get(site=cast.site_a)
    assert (policy.nurse_ratio, policy.search_days) == (3, 14)


# --- a patient's appointments and feeds ---------------------------------------------------------------------------


def test_a_patients_appointments_and_calendar_link(desk, iv, patient, client):
    url = reverse("scheduling:patient", args=[patient.pk])
    page = desk.get(url).content.decode()
    assert "Mon 2 Nov 2026, 10:00–11:10" in page and "Create a calendar link" in page
    assert desk.post(reverse("scheduling:patient_feed", args=[patient.pk])).status_code == 302
    first = patient.calendar_feed.token
    assert f"/schedule/ics/{first}.ics" in desk.get(url).content.decode()
    desk.post(reverse("scheduling:patient_feed", args=[patient.pk]))
    patient.calendar_feed.refresh_from_db()
    assert patient.calendar_feed.token != first
    assert client.get(f"/schedule/ics/{first}.ics").status_code == 404


def test_my_calendar_link_is_created_and_regenerated(client, cast, clinic):
    client.force_login(cast.nurse)
    url = reverse("scheduling:my_calendar")
    assert "Create my calendar link" in client.get(url).content.decode()
    client.post(url)
    first = cast.nurse.calendar_feed.token
    assert first in client.get(url).content.decode()
    client.post(url, {"regenerate": "1"})
    cast.nurse.calendar_feed.refresh_from_db()
    assert cast.nurse.calendar_feed.token != first


def test_the_chart_card_lists_upcoming_appointments(rf, cast, iv, patient):
    from ketaclinic.scheduling.chart import chart_card

    request = rf.get("/")
    request.user = cast.coordinator
    context = chart_card(request, patient)
    assert context is not None and context["upcoming"] == [iv] and context["can_book"]
    request.user = cast.nurse
    assert chart_card(request, patient)["can_book"] is False
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    request.user.can = lambda perm: False
    assert chart_card(request, patient) is None


def test_the_chart_card_renders(rf, cast, iv, patient):
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = cast.coordinator
    html = render_to_string(
        "scheduling/_chart_card.html", {"upcoming": [iv], "can_book": True, "patient": patient, "request": request}
    )
    assert "Mon 2 Nov 2026, 10:00" in html and "Book" in html
