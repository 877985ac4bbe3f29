from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "ketaclinic.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from ketaclinic.audit import signals  # noqa: F401  (sign-in / sign-out events)
