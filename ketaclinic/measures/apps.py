from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "ketaclinic.measures"
    label = "measures"
    verbose_name = "Measures (questionnaires and scores)"

    def ready(self) -> None:
        # Registers the appointment signal that regenerates schedules, and the measure_links and
        # suicide_followup_escalation jobs.
        from ketaclinic.measures import jobs, schedule  # noqa: F401
