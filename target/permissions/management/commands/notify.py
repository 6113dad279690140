"""``manage.py notify``: send one push from the command line.

With the in-memory channel layer a push sent from *this* process reaches nobody, so either set
``REDIS_URL`` (shared layer) or pass ``--url http://HOST:PORT`` to go through the running
server's ``POST /api/permissions/notify/`` (logging in as the seeded admin by default).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from argparse import ArgumentParser
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.management.base import BaseCommand, CommandError

from target.permissions import notifications


def _post_json(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class Command(BaseCommand):
    help = "Send a push (permission_changed, role_updated, ...) to a user, a role or everyone."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--type", required=True, choices=notifications.wire_push_types())
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--user-id", type=int)
        target.add_argument("--role")
        target.add_argument("--global", dest="everyone", action="store_true")
        parser.add_argument(
            "--subscribers",
            action="store_true",
            help="send to notification_<type>_<user-id> subscribers",
        )
        parser.add_argument("--data", default="{}", help="JSON object passed through as data")
        parser.add_argument(
            "--url", help="send through a running server, e.g. http://127.0.0.1:8000"
        )
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin-pass")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = json.loads(options["data"])
        except ValueError as exc:
            raise CommandError(f"--data is not JSON: {exc}") from exc
        body: dict[str, Any] = {"type": options["type"], "data": data}
        if options["user_id"] is not None:
            body["user_id"] = options["user_id"]
        elif options["role"] is not None:
            body["role"] = options["role"]
        else:
            body["global"] = True
        if options["subscribers"]:
            body["subscribers"] = True
        try:
            request = notifications.parse_request(body)
        except notifications.InvalidNotification as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from exc
        if options["url"]:
            result = self.send_over_http(options["url"].rstrip("/"), body, options)
        else:
            if isinstance(get_channel_layer(), InMemoryChannelLayer):
                print(
                    "target notify: in-memory channel layer: this push reaches no server; "
                    "set REDIS_URL or pass --url",
                    file=sys.stderr,
                )
            result = {"sent_to": notifications.send_sync(request), "type": options["type"]}
        self.stdout.write(json.dumps(result))

    def send_over_http(self, base: str, body: dict[str, Any], options: dict[str, Any]) -> Any:
        code, login = _post_json(
            f"{base}/api/auth/token/",
            {"username": options["username"], "password": options["password"]},
        )
        if code != 200:
            raise CommandError(f"login failed ({code}): {login}")
        code, result = _post_json(f"{base}/api/permissions/notify/", body, login["token"])
        if code != 202:
            raise CommandError(f"notify failed ({code}): {result}")
        return result
