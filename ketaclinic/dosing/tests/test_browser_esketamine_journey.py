"""In real Chromium, a whole esketamine session day: a nurse checks the patient in, the gate clears, device 1 is
taken with a prescriber witnessing under their password and device 2 five minutes later; at the 40-minute blood-pressure
peak 172/104 raises an alert that the session page and the day board show until the nurse acknowledges it; MOAA/S,
CADSS-6 and an Aldrete of 10 are rated on their timepoints; the patient would be ready to leave at 95 minutes and is
discharged at 121, and the REMS monitoring form is due with those numbers.

The clock is frozen at the start of the visit and moved forward in steps of at most 10 minutes, each followed by a
foreground request (the nurse at the chair), so the 15-minute idle sign-out never fires and every action happens at
the minute the story says.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from pypdf import PdfReader

from ketaclinic.audit.models import AuditEvent
from ketaclinic.consents.models import Consent
from ketaclinic.courses.actions import open_course
from ketaclinic.courses.tests.conftest import make_eligible, new_patient, weigh
from ketaclinic.dosing.models import (
    DoseAdministration,
    DosingSession,
    RemsForm,
    ScaleObservation,
    SessionAlert,
    SessionNote,
    VitalSign,
)
from ketaclinic.dosing.tests.conftest import consent
from ketaclinic.dosing.tests.doses import receive
from ketaclinic.dosing.tests.test_rems import FOOTER, printed
from ketaclinic.scheduling.models import Appointment, AppointmentType
from ketaclinic.scheduling.tests.conftest import ensure_appointment_types
from ketaclinic.screening.actions import mark_section_reviewed
from ketaclinic.screening.tests.conftest import add_trd_history
from ketaclinic.tests.browser import expect, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACK_NOTE = "Repeat 168/100, no headache or chest pain; prescriber saw her at the chair: observe, repeat in 5 min."


@pytest.fixture
def frozen_clock() -> Iterator[Any]:
    """The server's clock, frozen at the start of the visit (the browser keeps the real one: its cookies are
    session cookies and its waits are real time)."""
    start = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        yield traveller


def local_zone_at_ten(now: dt.datetime) -> str:
    """A fixed-offset zone where ``now`` is about 10:00, so the visit (and its fasting times) stays within one day."""
    offset = ((10 - now.hour + 12) % 24) - 12
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def vitals(form: Any, systolic: int, diastolic: int, heart_rate: int, spo2: int, resp_rate: int) -> None:
    form.get_by_label("Systolic (mmHg)").fill(str(systolic))
    form.get_by_label("Diastolic (mmHg)").fill(str(diastolic))
    form.get_by_label("Heart rate (/min)").fill(str(heart_rate))
    form.get_by_label("SpO2 (%)").fill(str(spo2))
    form.get_by_label("Respiratory rate (/min)").fill(str(resp_rate))


def test_an_esketamine_session_from_check_in_to_discharge(page, live_server, cast, frozen_clock):
    ensure_appointment_types()
    now = timezone.now()
    cast.site_a.time_zone = local_zone_at_ten(now)
    # The REMS form prints the treatment setting's address and phone.
    cast.site_a.address, cast.site_a.phone = "1200 W Harrison St, Chicago, IL 60607", "312-555-0100"
    cast.site_a.save(update_fields=["time_zone", "address", "phone"])
    patient = new_patient(cast)
    add_trd_history(patient, cast.nurse)
    for section in ("conditions", "medications", "substance_use"):
        mark_section_reviewed(patient, section, by=cast.nurse)
    weigh(patient, cast.nurse, "80")
    make_eligible(patient, cast, route="esketamine_nasal")
    consent(patient, cast, Consent.Kind.ESKETAMINE_REMS)
    course = open_course(patient, protocol="esketamine_trd", indication="trd", by=cast.prescriber)
    Appointment.objects.create(
        site=patient.site,
        patient=patient,
        appointment_type=AppointmentType.objects.get(route="esketamine_nasal", is_dosing=True),
        starts_at=now,
        ends_at=now + dt.timedelta(minutes=150),
        created_by=cast.coordinator,
        course_ref=course.pk,
        sequence_number=1,
    )
    lot = receive(cast, drug="esketamine", lot_number="ESK-2291A", units=6)
    base = live_server.url
    zone = patient.site.zone
    earlier = (now - dt.timedelta(hours=3)).astimezone(zone)

    def advance(minutes: int) -> None:
        """Move the clock on in steps of at most 10 minutes, the nurse reloading the session page after each."""
        left = minutes
        while left > 0:
            step = min(10, left)
            frozen_clock.shift(dt.timedelta(minutes=step))
            left -= step
            page.reload()
            expect(page.locator("#state")).to_be_visible()

    def rate(button: Any, label: str) -> None:
        """Press a scale's save button and wait for the page that lists the new rating (one request at a time)."""
        ratings = page.locator("#monitoring ul.scales li")
        before = ratings.count()
        button.click()
        expect(ratings).to_have_count(before + 1)
        expect(ratings.last).to_contain_text(label)

    def moaas(label: str) -> None:
        rate(page.locator("#mon-scale-moaas").get_by_role("button", name=label), "MOAA/S")

    # The page's own timers are paused: the panels' background polls would otherwise race the nurse's requests on
    # the test database (SQLite in shared-cache memory refuses concurrent writers), and this journey is about what
    # she does, not about the polls (test_browser_monitoring and test_browser_board cover those).
    page.clock.install(time=now)
    page.clock.pause_at(now + dt.timedelta(seconds=1))

    # 1. Check-in at the door.
    sign_in(page, base, "nurse", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/")
    page.get_by_role("button", name="Start session").click()
    expect(page.locator("#state")).to_have_text("Booked")
    session = DosingSession.objects.get(patient=patient)
    assert page.url.endswith(f"/patients/{patient.pk}/sessions/{session.pk}/")
    page.get_by_label("Identity confirmed").check()
    page.get_by_label("Weight today (kg)").fill("80")
    page.get_by_label("Last food (time today)").fill(earlier.strftime("%H:%M"))
    page.get_by_label("Last liquid (time today)").fill(earlier.strftime("%H:%M"))
    page.get_by_label("Escort or driver").fill("Sam Escort")
    page.get_by_label("Escort's phone").fill("555-0199")
    page.get_by_label("Escort confirmed for the ride home").check()
    page.get_by_label("Negative").check()
    page.get_by_label("No hold ordered").check()
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#state")).to_have_text("Checked in")
    expect(page.locator("#checklist")).to_contain_text("Sam Escort (555-0199)")
    shot(page, "esk-journey-0-checked-in")

    # 2. Baseline vitals and the pre-dose gate.
    baseline = page.locator("#vitals form")
    vitals(baseline, 126, 80, 72, 98, 14)
    page.get_by_role("button", name="Save baseline vitals").click()
    expect(page.locator("#vitals")).to_contain_text("126/80 mmHg")
    page.get_by_role("button", name="Run the pre-dose gate").click()
    expect(page.locator("#state")).to_have_text("Cleared to dose")
    expect(page.locator("#decision")).to_contain_text("Gate decision: Go")
    session.refresh_from_db()
    assert session.state == "cleared"
    assert session.checkin.pregnancy_test == "negative" and session.checkin.escort_confirmed

    # 3. Device 1 with the prescriber witnessing under their password; device 2 five minutes later.
    panel = page.locator("#administration")
    expect(panel).to_contain_text("2 × 28 mg")
    panel.get_by_label("Lot", exact=True).select_option(str(lot.pk))
    start = page.locator("form[action$='/dose/start/']")
    start.get_by_label("Witness", exact=True).select_option(str(cast.prescriber.pk))
    start.get_by_label("Witness's password").fill(cast.password)
    shot(page, "esk-journey-1-start")
    page.get_by_role("button", name="Device 1 taken: start the dose").click()
    expect(page.locator("#state")).to_have_text("Dosing")
    first_device = timezone.now()
    device_2_from = (first_device + dt.timedelta(minutes=5)).astimezone(zone)
    expect(page.locator(".next-device")).to_contain_text(f"Device 2 may be given from {device_2_from:%H:%M}")
    administration = DoseAdministration.objects.get(session=session)
    assert administration.lot == lot and administration.witnessed_by == cast.prescriber
    assert administration.amount_mg == 56

    advance(5)
    expect(page.locator(".next-device")).to_contain_text("Device 2 may be given now")
    page.get_by_role("button", name="Device 2 taken").click()
    expect(panel.locator("ol.devices li")).to_have_count(2)
    expect(page.locator("#state")).to_have_text("Monitoring")
    devices = list(administration.devices.order_by("number").values_list("at", flat=True))
    assert [d - first_device for d in devices] == [dt.timedelta(0), dt.timedelta(minutes=5)]
    shot(page, "esk-journey-2-devices")

    # 4. Monitoring: MOAA/S every 15 minutes, then the 40-minute blood-pressure peak raises an alert.
    monitor = page.locator("#monitoring")
    vitals_form = page.locator("#mon-vitals-form")
    advance(10)  # minute 15
    moaas("4 Lethargic response to name spoken in normal tone")
    expect(monitor.locator("ul.scales")).to_contain_text("15-min timepoint")
    advance(15)  # minute 30
    moaas("5 Responds readily to name spoken in normal tone")
    advance(10)  # minute 40
    expect(monitor).to_contain_text("minute 40 since the first device")
    vitals(vitals_form, 172, 104, 88, 97, 16)
    vitals_form.get_by_role("button", name="Save vitals").click()
    alert_card = page.locator(".alert-card")
    expect(alert_card).to_have_count(1)
    expect(alert_card).to_contain_text("Systolic blood pressure rose 46 mmHg from baseline 126")
    expect(alert_card).to_contain_text("(minute 40)")
    expect(page.locator(".vitals-table")).to_contain_text("172/104")
    alert = SessionAlert.objects.get(session=session)
    assert alert.acknowledged_at is None
    assert VitalSign.objects.get(session=session, systolic_mmhg=172).timepoint_min == 40
    moaas("5 Responds readily to name spoken in normal tone")
    cadss = page.locator("#mon-scale-cadss6")
    for item in ("q1", "q2", "q3", "q4", "q5", "q6"):
        cadss.get_by_label(item.upper(), exact=False).select_option("1" if item in ("q1", "q3") else "0")
    rate(cadss.get_by_role("button", name="Save CADSS-6"), "CADSS-6")
    shot(page, "esk-journey-3-alert")

    page.goto(f"{base}/dosing/board/")
    row = page.locator(".board-row", has_text=patient.display_name)
    expect(row).to_contain_text("1 open alert")
    expect(row.locator(".alert-top")).to_contain_text("Systolic blood pressure rose 46 mmHg")
    shot(page, "esk-journey-4-board")

    page.goto(f"{base}/patients/{patient.pk}/sessions/{session.pk}/")
    ack = page.locator(f"#ack-form-{alert.pk}")
    ack.get_by_label("Prescriber assessed at the chair").check()
    ack.get_by_label("What you saw and did").fill(ACK_NOTE)
    ack.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".alert-card")).to_have_count(0)
    expect(page.locator(".acked")).to_contain_text("Prescriber assessed at the chair")
    expect(page.locator(".acked")).to_contain_text(ACK_NOTE)
    alert.refresh_from_db()
    assert alert.acknowledged_by == cast.nurse and alert.action == "prescriber_assessed"
    audited = AuditEvent.objects.get(
        actor=cast.nurse, action=AuditEvent.Action.UPDATE, object_type="dosing.sessionalert", object_id=str(alert.pk)
    )
    assert audited.detail["event"] == "acknowledged" and audited.patient_id == patient.pk
    page.goto(f"{base}/dosing/board/")
    row = page.locator(".board-row", has_text=patient.display_name)
    expect(row).not_to_contain_text("open alert")
    page.goto(f"{base}/patients/{patient.pk}/sessions/{session.pk}/")

    # The pressure settles; MOAA/S carries on every 15 minutes.
    advance(5)  # minute 45
    moaas("5 Responds readily to name spoken in normal tone")
    vitals(vitals_form, 142, 88, 80, 97, 15)
    vitals_form.get_by_role("button", name="Save vitals").click()
    expect(page.locator(".vitals-table")).to_contain_text("142/88")
    expect(page.locator(".alert-card")).to_have_count(0)
    for minute in (60, 75, 90):
        advance(15)
        expect(monitor).to_contain_text(f"minute {minute} since the first device")
        moaas("5 Responds readily to name spoken in normal tone")

    # 5. Would be ready to leave at 95 minutes.
    advance(5)  # minute 95
    page.get_by_role("button", name="Would be ready to leave now").click()
    expect(page.locator("#ready-to-leave")).to_contain_text("95 min after the start of the dose")

    # 6. An Aldrete of 10 near the end, but esketamine's 120 minutes from the first device cannot be cut short.
    advance(10)  # minute 105
    moaas("5 Responds readily to name spoken in normal tone")
    advance(5)  # minute 110
    aldrete = page.locator("#mon-scale-aldrete")
    page.locator("details.scale-details", has=aldrete).evaluate("el => el.open = true")
    for item in ("q1", "q2", "q3", "q4", "q5"):
        aldrete.get_by_label(item.upper(), exact=False).select_option("2")
    rate(aldrete.get_by_role("button", name="Save Modified Aldrete"), "Modified Aldrete 10")
    expect(page.locator("#hard-stop")).to_contain_text("at least 120 min from the first device")
    expect(page.get_by_role("button", name="Discharge the patient")).to_have_count(0)

    # The before-discharge timepoint: vitals, MOAA/S and CADSS-6.
    advance(10)  # minute 120
    vitals(vitals_form, 128, 82, 74, 98, 14)
    vitals_form.get_by_role("button", name="Save vitals").click()
    expect(page.locator(".vitals-table")).to_contain_text("128/82")
    moaas("5 Responds readily to name spoken in normal tone")
    for item in ("q1", "q2", "q3", "q4", "q5", "q6"):
        cadss.get_by_label(item.upper(), exact=False).select_option("0")
    rate(cadss.get_by_role("button", name="Save CADSS-6"), "CADSS-6")
    aldrete_row = ScaleObservation.objects.get(session=session, instrument="aldrete")
    assert aldrete_row.total == 10
    assert set(
        ScaleObservation.objects.filter(session=session, instrument="cadss6").values_list("timepoint_min", flat=True)
    ) == {40, 120}
    moaas_timepoints = ScaleObservation.objects.filter(session=session, instrument="moaas").order_by("observed_at")
    assert list(moaas_timepoints.values_list("timepoint_min", flat=True)) == [15, 30, 40, 45, 60, 75, 90, 105, 120]
    shot(page, "esk-journey-5-recovered")

    # At 121 minutes from the first device: check the criteria, then discharge.
    advance(1)
    check = page.locator("form[action$='/discharge/check/']")
    check.get_by_label("Sedation, dissociation and breathing back to normal").check()
    check.get_by_label("Escort here to take the patient home").check()
    check.get_by_role("button", name="Check the discharge criteria").click()
    expect(page.locator("#state")).to_have_text("Ready for discharge")
    expect(page.locator(".discharge-criteria")).to_contain_text("All discharge criteria met")
    shot(page, "esk-journey-6-ready")
    leave = page.locator("#discharge-form")
    leave.get_by_label("Sedation, dissociation and breathing back to normal").check()
    leave.get_by_label("Escort here to take the patient home").check()
    leave.get_by_role("button", name="Discharge the patient").click()
    expect(page.locator("#state")).to_have_text("Discharged")
    expect(page.locator("#discharged")).to_contain_text("after 121 min of observation")
    session.refresh_from_db()
    assert session.state == "discharged"

    # The REMS monitoring form: due, with the ready-to-leave minutes and the 40-minute blood pressure.
    form = RemsForm.objects.get(session=session)
    assert form.values["ready_to_leave_min"] == 95
    assert list(form.values["bp_40_min"]) == [172, 104]
    assert form.problems == [] and form.submitted_at is None
    expect(page.locator("#rems")).to_contain_text("To submit")
    page.locator("#rems summary", has_text="Form fields").click()
    expect(page.locator("#rems dl")).to_contain_text("172/104 mmHg")
    shot(page, "esk-journey-7-discharged")
    response = page.request.get(f"{base}/patients/{patient.pk}/sessions/{session.pk}/rems.pdf")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages).split())
    on_paper = printed(FOOTER.sub(" ", text))
    assert on_paper["ready_to_leave_min"] == "95 min"
    assert on_paper["bp_40_min"] == "172/104 mmHg"
    assert on_paper["total_monitoring_min"] == "121 min"
    assert on_paper["lot_number"] == "ESK-2291A"

    # The nurse signs the prefilled session note; the prescriber co-signs it.
    expect(page.locator("#note textarea")).to_contain_text("Systolic blood pressure rose 46 mmHg")
    page.get_by_role("button", name="Sign the note").click()
    expect(page.locator("#note")).to_contain_text("awaiting the prescriber's co-signature")
    sign_in(page, base, "prescriber", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/sessions/{session.pk}/")
    page.get_by_role("button", name="Co-sign the note").click()
    expect(page.locator("#note")).to_contain_text("co-signed by")
    note = SessionNote.objects.get(session=session)
    assert note.nurse_signed_by == cast.nurse and note.prescriber_signed_by == cast.prescriber
    assert ACK_NOTE in note.text

    # The REMS list shows the form as due, complete, not yet submitted.
    page.goto(f"{base}/dosing/rems/")
    rems_row = page.locator(f"#rems-{form.pk}")
    expect(rems_row).to_contain_text(patient.display_name)
    expect(rems_row).to_contain_text(f"{form.due_on:%Y-%m-%d}")
    expect(rems_row).to_contain_text("days left")
    expect(rems_row).not_to_contain_text("to complete")
    shot(page, "esk-journey-8-rems-list")
