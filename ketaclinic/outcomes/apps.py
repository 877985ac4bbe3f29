from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "ketaclinic.outcomes"
    label = "outcomes"
    verbose_name = "Clinic outcomes"

    def ready(self) -> None:
        from ketaclinic.outcomes import jobs, signals  # noqa: F401 - jobs registers the refresh job

        signals.connect()
