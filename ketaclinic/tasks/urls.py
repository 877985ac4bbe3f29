from django.urls import path

from ketaclinic.tasks import views

app_name = "tasks"

urlpatterns = [
    path("", views.task_list, name="list"),
    path("alerts/", views.alerts_widget, name="widget"),
    path("<int:task_id>/", views.task_detail, name="detail"),
]
