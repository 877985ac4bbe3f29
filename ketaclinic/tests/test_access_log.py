from __future__ import annotations

from types import SimpleNamespace

from gunicorn.config import Config

from ketaclinic.access_log import RedactingLogger, redact_path


def test_it_redacts_portal_and_feed_tokens() -> None:
    assert redact_path("/p/AbC_123-xyz/phq9/") == "/p/[token]/phq9/"
    assert redact_path("/schedule/ics/secret123.ics") == "/schedule/ics/[token]"
    assert redact_path("/patients/12/") == "/patients/12/"


def test_the_gunicorn_logger_writes_no_token() -> None:
    logger = RedactingLogger(Config())
    request = SimpleNamespace(
        method="GET",
        path="/p/AbC_123/welcome/",
        query="",
        uri="/p/AbC_123/welcome/",
        version=(1, 1),
        headers=[],
    )
    response = SimpleNamespace(status="200 OK", response_length=10, sent=10, headers=[])
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/p/AbC_123/welcome/",
        "QUERY_STRING": "",
        "RAW_URI": "/p/AbC_123/welcome/",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    import datetime as dt

    atoms = logger.atoms(response, request, environ, dt.timedelta(milliseconds=5))
    assert "AbC_123" not in atoms["U"]
    assert "AbC_123" not in atoms["r"]
