from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "ketaclinic.consents"
    label = "consents"
    verbose_name = "Consents"
