"""Patient screens (being built)."""

from django.http import HttpRequest, HttpResponse


def patient_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
