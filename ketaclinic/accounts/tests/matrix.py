"""The permission-matrix mixin: every protected URL gets the same four checks from one declaration.

    class TestAuditScreen(PermissionMatrix):
        allowed = {Role.CLINIC_ADMIN}
        def url(self, cast): return reverse("audit:events")

anonymous → sign-in redirect (HTML) or 401 (API); each role outside ``allowed`` → ``denied_status``; each role in
``allowed`` → 200; and, when ``patient_scoped``, the other site's nurse → 404 (no hint that the record exists).
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from django.test import Client

from ketaclinic.accounts.roles import Role
from ketaclinic.conftest import Cast


class PermissionMatrix:
    allowed: ClassVar[set[Role]] = set()
    denied_status: ClassVar[int] = 403
    patient_scoped: ClassVar[bool] = False
    api: ClassVar[bool] = False

    def url(self, cast: Cast) -> str:
        raise NotImplementedError

    def _get(self, client: Client, url: str) -> int:
        return client.get(url).status_code

    def test_it_sends_anonymous_users_to_sign_in(self, client: Client, cast: Cast) -> None:
        response = client.get(self.url(cast))
        if self.api:
            assert response.status_code == 401
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")

    def test_it_refuses_roles_without_the_permission(self, client: Client, cast: Cast) -> None:
        url = self.url(cast)
        for role, user in cast.by_role().items():
            if role in self.allowed:
                continue
            client.force_login(user)
            assert self._get(client, url) == self.denied_status, f"{role} should get {self.denied_status}"

    def test_it_serves_roles_with_the_permission(self, client: Client, cast: Cast) -> None:
        url = self.url(cast)
        assert self.allowed, "declare at least one allowed role"
        for role in self.allowed:
            client.force_login(cast.by_role()[role])
            assert self._get(client, url) == 200, f"{role} should get 200"

    def test_it_hides_other_sites_records(self, client: Client, cast: Cast) -> None:
        if not self.patient_scoped:
            pytest.skip("not a patient-scoped URL")
        client.force_login(cast.nurse_b)
        assert self._get(client, self.url(cast)) == 404
