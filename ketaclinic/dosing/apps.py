from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "ketaclinic.dosing"
    label = "dosing"
    verbose_name = "Session day"

    def ready(self) -> None:
        from ketaclinic.dosing import (
            appointment_sync,
            jobs,  # noqa: F401  (registers the escalate_session_alerts job)
        )
        from ketaclinic.scheduling import signals

        signals.appointment_status_changing.connect(appointment_sync.refuse_when_dose_started, dispatch_uid="dosing")
        signals.appointment_status_changed.connect(appointment_sync.follow_appointment, dispatch_uid="dosing")
