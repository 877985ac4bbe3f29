from django.urls import path  # noqa: F401

app_name = "portal"

# Patient-facing pages live under /p/<token>/ (no sign-in); staff pages under /portal/.
urlpatterns: list = []
