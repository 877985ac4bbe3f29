from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.test import RequestFactory
from django.urls import reverse

from ketaclinic.patients import cards

pytestmark = pytest.mark.django_db


def test_it_finds_the_chart_module_of_every_ketaclinic_app_in_app_order(real_cards):
    cards.card_providers.cache_clear()
    expected = [
        c.label
        for c in apps.get_app_configs()
        if c.name.startswith("ketaclinic.") and (Path(c.path) / "chart.py").exists()
    ]
    found = cards.card_providers()
    assert [label for label, _ in found] == expected
    assert all(callable(card) for _, card in found)


def test_it_renders_each_card_with_its_context_and_skips_hidden_ones(cast, patient, monkeypatch):
    rendered = []

    def fake_render(template, context, request):
        rendered.append((template, context))
        return f"<section class='card'>{context['title']}</section>"

    monkeypatch.setattr(
        cards, "card_providers", lambda: (("first", lambda r, p: {"title": "Shown"}), ("second", lambda r, p: None))
    )
    monkeypatch.setattr(cards, "render_to_string", fake_render)
    request = RequestFactory().get("/")
    request.user = cast.nurse
    html = cards.chart_cards(request, patient)
    assert html == ["<section class='card'>Shown</section>"]
    assert rendered == [("first/_chart_card.html", {"title": "Shown", "patient": patient, "request": request})]


def test_it_places_the_cards_after_the_chart(client, cast, patient, monkeypatch):
    monkeypatch.setattr(cards, "card_providers", lambda: (("x", lambda r, p: {"n": 1}),))
    monkeypatch.setattr(cards, "render_to_string", lambda *a, **k: "<section id='x-card'>card</section>")
    client.force_login(cast.coordinator)
    html = client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert "<section id='x-card'>card</section>" in html


@pytest.mark.parametrize("role", ["prescriber", "nurse", "therapist", "coordinator", "admin"])
def test_it_renders_the_real_cards_of_every_app_for_every_role(client, cast, patient, role, real_cards):
    cards.card_providers.cache_clear()
    client.force_login(getattr(cast, role))
    assert client.get(reverse("patients:chart", args=[patient.pk])).status_code == 200
