import logging

from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "ketaclinic.consents"
    label = "consents"
    verbose_name = "Consents"

    def ready(self) -> None:
        # WeasyPrint logs nine INFO lines per PDF; keep its warnings (missing fonts, bad CSS) and drop the chatter.
        logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
