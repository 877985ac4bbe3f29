"""Gunicorn settings: WSGI with persistent database connections (sync views under ASGI measured 4–5x slower)."""

import gc
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
    """Each worker freezes what start-up allocated out of the garbage collector's sight, and reports a heartbeat for
    the `web` process every 30 seconds."""
    # Django, the URLconf, templates and the clinical catalogue are ~100,000 long-lived objects; left in the
    # collector's generations, every full collection walks them all again (~45 ms each here, see
    # docs/benchmarks.md). Frozen, a collection only looks at what requests allocate.
    gc.collect()
    gc.freeze()

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
