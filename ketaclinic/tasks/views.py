"""Task screens (being built)."""

from django.http import HttpRequest, HttpResponse


def task_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
