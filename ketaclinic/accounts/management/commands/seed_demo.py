"""Build (or complete) the synthetic demo clinic. Safe to run again: nothing is duplicated or wiped."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the synthetic demo clinic: sites, staff, and whatever each app adds in its demo.py."

    def handle(self, *args: Any, **options: Any) -> None:
        builders = []
        for config in apps.get_app_configs():
            if not config.name.startswith("ketaclinic."):
                continue
            module_name = f"{config.name}.demo"
            if importlib.util.find_spec(module_name) is not None:
                builders.append((config.label, importlib.import_module(module_name)))
        # A demo may build on a later app's demo (measures answer the courses' questionnaires): RUN_AFTER = "<label>".
        for label, module in list(builders):
            after = getattr(module, "RUN_AFTER", None)
            labels = [b[0] for b in builders]
            if after in labels and labels.index(after) > labels.index(label):
                builders.remove((label, module))
                builders.insert(labels.index(after), (label, module))
        for index, (label, module) in enumerate(builders, start=1):
            self.stdout.write(f"[{index}/{len(builders)}] {label}")
            module.seed(self.stdout.write)
        from ketaclinic.accounts.demo import DEMO_PASSWORD, STAFF

        self.stdout.write(self.style.SUCCESS("Demo clinic ready. Demo-only sign-ins (synthetic data, never real):"))
        for username, _name, _credentials, roles, sites in STAFF:
            self.stdout.write(
                f"  {username:<16} {DEMO_PASSWORD}   {', '.join(r.label for r in roles)} at {', '.join(sites)}"
            )
