"""Guess what kind of server a listening process is, from its command line.

The incident: the upgrade reached an HTTP-only process that shared the port with Daphne. An
HTTP-only server answers a WebSocket upgrade with 404, so knowing which listener is which is
half the diagnosis. The guess is a table of signatures (first match wins), so teaching the
doctor a new server is one line here, not a new branch somewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.doctor.observations import ServerKind


@dataclass(frozen=True)
class Signature:
    """A command-line pattern and what it means."""

    pattern: str  # a regular expression searched in the command line
    kind: ServerKind
    server: str  # the name shown to people
    note: str = ""  # what to know about this server when it holds a WebSocket port

    def matches(self, cmdline: str) -> bool:
        return re.search(self.pattern, cmdline, re.IGNORECASE) is not None


# Order matters: the specific forms (gunicorn with an ASGI worker) before the general ones.
SIGNATURES: tuple[Signature, ...] = (
    Signature(r"-m\s+target\s+serve\b", "asgi", "reference target (Daphne)"),
    Signature(r"\bdaphne\b", "asgi", "Daphne"),
    Signature(r"\buvicorn\b(?!\.workers)", "asgi", "Uvicorn"),
    Signature(r"\bhypercorn\b", "asgi", "Hypercorn"),
    Signature(r"\bgranian\b.*--interface[= ]asgi", "asgi", "Granian (ASGI)"),
    Signature(
        r"\bgunicorn\b.*(uvicorn\.workers|(-k|--worker-class)[= ]?\S*(asgi|uvicorn))",
        "asgi",
        "Gunicorn with an ASGI worker",
    ),
    Signature(
        r"\bgunicorn\b",
        "http_only",
        "Gunicorn (WSGI workers)",
        "WSGI workers cannot upgrade to WebSocket; use -k uvicorn.workers.UvicornWorker",
    ),
    Signature(
        r"manage\.py\s+runserver\b",
        "http_only",
        "Django runserver",
        "HTTP only unless 'daphne' is first in INSTALLED_APPS (then it runs Daphne)",
    ),
    Signature(r"-m\s+http\.server\b|SimpleHTTPServer", "http_only", "Python http.server"),
    Signature(r"\bflask\b.*\brun\b", "http_only", "Flask development server"),
    Signature(r"\b(uwsgi|waitress-serve|mod_wsgi-express)\b", "http_only", "WSGI server"),
    Signature(
        r"\b(nginx|haproxy|envoy|caddy|traefik)\b",
        "proxy",
        "reverse proxy",
        "it must forward the Upgrade and Connection headers to the ASGI server",
    ),
)


def classify(cmdline: str, signatures: tuple[Signature, ...] = SIGNATURES) -> Signature | None:
    """The first signature matching ``cmdline``; None when the command line says nothing."""
    for signature in signatures:
        if signature.matches(cmdline):
            return signature
    return None


# The ``Server`` header of the plain HTTP GET, for when the listener's command line is unknown
# or not visible (another user's process, a remote host).
HTTP_SERVER_HEADERS: tuple[Signature, ...] = (
    Signature(r"^daphne", "asgi", "Daphne"),
    Signature(r"^uvicorn", "asgi", "Uvicorn"),
    Signature(r"^hypercorn", "asgi", "Hypercorn"),
    Signature(r"^WSGIServer/", "http_only", "wsgiref (Django runserver without Daphne)"),
    Signature(r"^SimpleHTTP/", "http_only", "Python http.server"),
    Signature(r"^Werkzeug/", "http_only", "Werkzeug (Flask development server)"),
    Signature(r"^gunicorn", "http_only", "Gunicorn"),
    Signature(r"^(nginx|envoy|caddy|traefik)", "proxy", "reverse proxy"),
)


def classify_server_header(header: str) -> Signature | None:
    """What the HTTP ``Server`` header says the server is; None when it says nothing known."""
    return classify(header, HTTP_SERVER_HEADERS) if header else None
