"""Start-up configuration errors name the variable and what it should be."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "TIME_ZONE", "HTTPS"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import ketaclinic.settings"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY is not set"),
        ({"DEBUG": "maybe"}, "DEBUG must be 0 or 1"),
        ({"DEBUG": "1", "TIME_ZONE": "Nowhere/City"}, "TIME_ZONE 'Nowhere/City' is not a known IANA time zone"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://u:p@h/db"}, "DATABASE_URL must point at SQLite"),
        ({"DEBUG": "1", "DATABASE_URL": "nonsense"}, "DATABASE_URL is not a valid database URL"),
        ({"DEBUG": "1", "IDLE_LOGOUT_MINUTES": "often"}, "IDLE_LOGOUT_MINUTES must be a whole number"),
        ({"DEBUG": "1", "IDLE_LOGOUT_MINUTES": "0"}, "IDLE_LOGOUT_MINUTES must be from 1 to 720"),
    ],
)
def test_it_refuses_to_start_with_a_bad_setting(env: dict[str, str], message: str) -> None:
    result = _import_settings(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_it_starts_in_production_mode_with_a_secret_key() -> None:
    result = _import_settings(DEBUG="0", SECRET_KEY="x" * 60)
    assert result.returncode == 0, result.stderr


def test_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    leaks = {"DATABASE_URL", "HTTPS", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}  # set by other tests in-process
    env = {k: v for k, v in os.environ.items() if k not in leaks}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="ketaclinic.settings",
        KETACLINIC_VAR_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_sqlite_commits_are_durable() -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite pragmas")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2  # FULL
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
