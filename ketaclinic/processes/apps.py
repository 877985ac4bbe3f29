from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "ketaclinic.processes"
    label = "processes"
    verbose_name = "Long-running processes"
