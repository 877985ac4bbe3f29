from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "ketaclinic.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from ketaclinic.scheduling import reminders  # noqa: F401  (registers the appointment_reminders job)
