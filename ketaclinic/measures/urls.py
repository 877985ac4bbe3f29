from django.urls import path

from ketaclinic.measures import views

app_name = "measures"

urlpatterns = [
    path("", views.measures_page, name="page"),
    path("send/", views.send_set, name="send"),
    path("due/<int:due_id>/", views.enter, name="enter"),
    path("trajectory/", views.trajectory, name="trajectory"),
    path("trajectory/<slug:instrument>/", views.instrument_detail, name="instrument"),
]
