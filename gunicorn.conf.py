"""Gunicorn settings: WSGI with persistent database connections (sync views under ASGI measured 4–5x slower)."""

import os
import threading

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = 30
graceful_timeout = 10
accesslog = "-"
# Paths only: query strings may carry identifiers, so they are left out; portal and feed tokens are redacted.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
logger_class = "ketaclinic.access_log.RedactingLogger"


def post_worker_init(worker):
    """Each worker reports a heartbeat for the `web` process every 30 seconds."""

    def beat_forever():
        import time

        from django.db import close_old_connections

        from ketaclinic.processes.actions import beat

        first = True
        while True:
            try:
                beat("web", status_text=f"{workers} worker(s)", starting=first)
                first = False
            except Exception:  # noqa: S110 - a failed heartbeat must never take the web worker down
                pass
            finally:
                close_old_connections()
            time.sleep(30)

    threading.Thread(target=beat_forever, name="heartbeat", daemon=True).start()
