from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "ketaclinic.dosing"
    label = "dosing"
    verbose_name = "Session day"

    def ready(self) -> None:
        from ketaclinic.dosing import jobs  # noqa: F401  (registers the escalate_session_alerts job)
