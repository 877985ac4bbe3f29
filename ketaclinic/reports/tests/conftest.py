"""The courses tests' clock (Wednesday 21 October 2026) and course fixtures."""

from ketaclinic.courses.tests.conftest import clinic, eligible, frozen_clock, iv_course  # noqa: F401
