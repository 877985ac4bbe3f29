"""The clinic's appointment types, with default durations and patient instructions a clinic may edit.

Chair time = duration + recovery. Instructions are what the patient receives before the visit; they name no
diagnosis and no drug, because a reminder e-mail can be read by someone else.
"""

from django.db import migrations

FASTING = (
    "Do not eat for 4 hours before your appointment. You may drink clear fluids (water, clear juice, black tea or "
    "coffee) until 2 hours before."
)
ESCORT = (
    "Bring an adult who can take you home. You must not drive, cycle or operate machinery until the next day after "
    "a night's sleep."
)
MEDICINES = (
    "Take your usual medicines unless your prescriber told you otherwise. If you were asked to hold a sedative "
    "medicine (for example a benzodiazepine) before treatment, follow that instruction."
)
ARRIVE = "Please arrive 15 minutes early. Wear comfortable clothes; you may bring headphones and an eye mask."


def _dosing(extra: str = "") -> str:
    return "\n\n".join(part for part in (ARRIVE, FASTING, MEDICINES, ESCORT, extra) if part)


TYPES = [
    # code, name, duration, recovery, resource kind, nurse, prescriber on site, therapist, accompanies, dosing,
    # route, instructions, reminder hours
    (
        "ketamine_iv",
        "IV infusion session",
        40,
        30,
        "infusion_chair",
        True,
        False,
        False,
        False,
        True,
        "iv",
        _dosing(),
        [48, 24],
    ),
    (
        "ketamine_im",
        "IM injection session",
        15,
        60,
        "treatment_room",
        True,
        False,
        False,
        False,
        True,
        "im",
        _dosing(),
        [48, 24],
    ),
    (
        "ketamine_sublingual",
        "Sublingual dosing session",
        30,
        60,
        "treatment_room",
        True,
        False,
        False,
        False,
        True,
        "sublingual",
        _dosing(),
        [48, 24],
    ),
    (
        "ketamine_intranasal",
        "Intranasal dosing session",
        15,
        60,
        "treatment_room",
        True,
        False,
        False,
        False,
        True,
        "intranasal",
        _dosing(),
        [48, 24],
    ),
    (
        "esketamine_nasal",
        "Nasal spray session (supervised)",
        20,
        120,
        "infusion_chair",
        True,
        True,
        False,
        False,
        True,
        "esketamine_nasal",
        _dosing(
            "You will stay with us for at least 2 hours after the dose. Avoid food for 2 hours and drinks for 30 "
            "minutes before the session. If you use a nasal corticosteroid or decongestant, take it at least 1 hour "
            "before."
        ),
        [48, 24],
    ),
    (
        "therapy_preparation",
        "Therapy: preparation session",
        50,
        0,
        "therapy_room",
        False,
        False,
        True,
        False,
        False,
        "",
        "Please arrive 5 minutes early. Bring any notes or questions you would like to talk about.",
        [24],
    ),
    (
        "therapy_integration",
        "Therapy: integration session",
        50,
        0,
        "therapy_room",
        False,
        False,
        True,
        False,
        False,
        "",
        "Please arrive 5 minutes early. You may bring a journal or notes from your recent sessions.",
        [24],
    ),
    (
        "therapy_dosing_support",
        "Therapy: dosing-day support",
        90,
        0,
        "",
        False,
        False,
        True,
        True,
        False,
        "",
        "Your therapist will be with you during your treatment session.",
        [],
    ),
    (
        "consult",
        "Consultation and assessment",
        60,
        0,
        "consult_room",
        False,
        False,
        False,
        False,
        False,
        "",
        "Please arrive 15 minutes early and bring a list of your current medicines and any letters from your doctors.",
        [48, 24],
    ),
]


def seed_types(apps, schema_editor):
    AppointmentType = apps.get_model("scheduling", "AppointmentType")
    for (
        code,
        name,
        duration,
        recovery,
        kind,
        nurse,
        prescriber,
        therapist,
        accompanies,
        dosing,
        route,
        text,
        hours,
    ) in TYPES:
        AppointmentType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "duration_min": duration,
                "recovery_min": recovery,
                "resource_kind": kind,
                "needs_nurse": nurse,
                "needs_prescriber_on_site": prescriber,
                "needs_therapist": therapist,
                "accompanies_dosing": accompanies,
                "is_dosing": dosing,
                "route": route,
                "instructions": text,
                "reminder_hours_before": hours,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(seed_types, migrations.RunPython.noop)]
