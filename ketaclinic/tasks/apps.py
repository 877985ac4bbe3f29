from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "ketaclinic.tasks"
    label = "tasks"
    verbose_name = "Clinician tasks"
