"""The job runner: beats its heartbeat and runs due jobs until stopped (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from ketaclinic.processes.actions import beat
from ketaclinic.processes.jobs import run_due_jobs


class Command(BaseCommand):
    help = "Run scheduled jobs (reminders, questionnaires, escalations) and keep the heartbeat fresh."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between rounds (default 15).")
        parser.add_argument("--once", action="store_true", help="Run one round and exit.")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        beat("run_jobs", status_text="starting", starting=True)
        self.stdout.write(f"run_jobs: started; a round every {interval:g} s. Ctrl-C stops it.")
        rounds = 0
        try:
            while not stopping:
                done = run_due_jobs()
                rounds += 1
                beat("run_jobs", status_text=f"round {rounds}: {done} job(s) run")
                if once:
                    break
                deadline = time.monotonic() + interval
                while not stopping and time.monotonic() < deadline:
                    time.sleep(min(0.5, interval))
                close_old_connections()  # a long-lived loop must not hold a broken or stale connection
        except KeyboardInterrupt:
            pass
        beat("run_jobs", status_text="stopped")
        self.stdout.write(f"run_jobs: stopped after {rounds} round(s).")
