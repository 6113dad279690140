"""Reading a server's log: Python tracebacks found, counted and matched to a known cause."""

from __future__ import annotations

from harness.doctor.logs import hint_for, parse_exceptions

SITE = "/usr/lib/python3.11/site-packages"
APP_TRACEBACK = f"""\
2026-12-03 02:58:26,784 ERROR daphne.server: Exception inside application: 'NoneType' object has no attribute 'group_add'
Traceback (most recent call last):
  File "{SITE}/channels/routing.py", line 48, in __call__
    return await application(scope, receive, send)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/app/chat/consumers.py", line 155, in connect
    await self.join(group)
  File "/srv/app/chat/consumers.py", line 173, in join
    await self.channel_layer.group_add(group, self.channel_name)
          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
AttributeError: 'NoneType' object has no attribute 'group_add'
"""
NO_ROUTE = f"""\
2026-12-03 02:58:27,789 ERROR daphne.server: Exception inside application: No route found for path 'ws/x/'.
Traceback (most recent call last):
  File "{SITE}/channels/routing.py", line 136, in __call__
    raise ValueError("No route found for path %r." % path)
ValueError: No route found for path 'ws/x/'.
"""


def test_a_traceback_becomes_one_exception_with_its_innermost_app_frame() -> None:
    [found] = parse_exceptions("server started\n" + APP_TRACEBACK + "INFO next line\n")
    assert found.summary == "AttributeError: 'NoneType' object has no attribute 'group_add'"
    assert found.where == "chat/consumers.py:173 in join"
    assert found.code == "await self.channel_layer.group_add(group, self.channel_name)"
    assert "Exception inside application" in found.context
    assert found.count == 1


def test_the_same_exception_is_counted_in_order_of_appearance() -> None:
    found = parse_exceptions(APP_TRACEBACK + NO_ROUTE + APP_TRACEBACK + APP_TRACEBACK)
    assert [(e.kind, e.count) for e in found] == [("AttributeError", 3), ("ValueError", 1)]


def test_a_chained_exception_keeps_the_last_one() -> None:
    chained = NO_ROUTE + "\nDuring handling of the above exception, another exception occurred:\n\n"
    chained += APP_TRACEBACK.split("\n", 1)[1]  # without the log line
    found = parse_exceptions(chained)
    assert [e.kind for e in found] == ["AttributeError"]


def test_no_traceback_no_exception() -> None:
    assert parse_exceptions("") == ()
    assert parse_exceptions("WARNING Not Found: /favicon.ico\nTraceback (most recent") == ()


def test_known_causes_have_a_hint() -> None:
    [missing_layer] = parse_exceptions(APP_TRACEBACK)
    hint = hint_for(missing_layer)
    assert hint is not None and "CHANNEL_LAYERS" in hint.fix
    [no_route] = parse_exceptions(NO_ROUTE)
    assert hint_for(no_route) is not None
