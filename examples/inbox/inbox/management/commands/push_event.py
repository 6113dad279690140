"""``manage.py push_event GROUP KIND BODY_JSON``: send one live event, as the app's code does."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from inbox.events import deliver


class Command(BaseCommand):
    help = "Send one live event to a group through the channel layer."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("group")
        parser.add_argument("kind")
        parser.add_argument("body", help="the event's body, a JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            body = json.loads(options["body"])
        except ValueError as exc:
            raise CommandError(f"body is not JSON: {exc}") from None
        deliver(options["group"], options["kind"], body)
