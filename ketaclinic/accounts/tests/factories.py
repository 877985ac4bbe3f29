"""Factories for sites and staff (synthetic people only)."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import Group

from ketaclinic.accounts.models import Site, User
from ketaclinic.accounts.roles import Role

TEST_PASSWORD = "correct-horse-battery-staple"


class SiteFactory(factory.django.DjangoModelFactory[Site]):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"site{n}")
    name = factory.Sequence(lambda n: f"Test Clinic {n}")
    time_zone = "America/Chicago"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    display_name = factory.Faker("name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def roles(self: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=[Role(r).value for r in extracted]))

    @factory.post_generation
    def sites(self: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.sites.set(extracted)
        if create:
            self.save()
