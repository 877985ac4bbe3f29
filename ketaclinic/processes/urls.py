from django.urls import path

from ketaclinic.processes import views

app_name = "processes"

urlpatterns = [path("", views.status, name="status")]
