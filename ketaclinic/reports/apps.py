import logging

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "ketaclinic.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
