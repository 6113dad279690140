"""Server signatures, URL parsing and routes given by hand: the doctor's pure helpers."""

from __future__ import annotations

import pytest

from harness import urls
from harness.contract import load_contract
from harness.doctor.plan import liveness_names, parse_url, routes_for, unknown_path
from harness.doctor.servers import classify, classify_server_header
from harness.errors import ConfigError
from harness.protocol import ProtocolSpec


@pytest.mark.parametrize(
    ("cmdline", "kind", "server"),
    [
        ("daphne -b 0.0.0.0 -p 8000 project.asgi:application", "asgi", "Daphne"),
        ("/venv/bin/python /venv/bin/daphne -v 2 project.asgi:application", "asgi", "Daphne"),
        ("uvicorn project.asgi:application --port 8000", "asgi", "Uvicorn"),
        ("hypercorn project.asgi:application", "asgi", "Hypercorn"),
        (
            "gunicorn -k uvicorn.workers.UvicornWorker project.asgi:application",
            "asgi",
            "Gunicorn with an ASGI worker",
        ),
        ("gunicorn project.wsgi:application", "http_only", "Gunicorn (WSGI workers)"),
        ("python -m target serve --port 8000", "asgi", "reference target (Daphne)"),
        ("python manage.py runserver 0.0.0.0:8000", "http_only", "Django runserver"),
        ("python3 -m http.server 8000", "http_only", "Python http.server"),
        ("nginx: master process /usr/sbin/nginx", "proxy", "reverse proxy"),
    ],
)
def test_command_lines_are_classified(cmdline: str, kind: str, server: str) -> None:
    signature = classify(cmdline)
    assert signature is not None
    assert (signature.kind, signature.server) == (kind, server)


def test_unknown_command_line() -> None:
    assert classify("python my_script.py") is None
    assert classify_server_header("") is None
    assert classify_server_header("WSGIServer/0.2 CPython/3.11.7").kind == "http_only"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("url", "netloc", "path"),
    [
        ("ws://localhost:8000", "localhost:8000", ""),
        ("http://127.0.0.1:8000/", "127.0.0.1:8000", ""),
        (
            "ws://localhost:8000/ws/permissions/anonymous",
            "localhost:8000",
            "/ws/permissions/anonymous",
        ),
        ("wss://example.com", "example.com:443", ""),
        ("ws://[::1]:9000", "[::1]:9000", ""),
    ],
)
def test_parse_url(url: str, netloc: str, path: str) -> None:
    endpoint = parse_url(url)
    assert (urls.netloc(endpoint.host, endpoint.port), endpoint.path) == (netloc, path)


def test_same_origin_omits_default_ports() -> None:
    assert parse_url("ws://localhost:8000").same_origin == "http://localhost:8000"
    assert parse_url("wss://example.com").same_origin == "https://example.com"


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://x", "ws://x:0x", "ws://"])
def test_bad_urls_raise_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="doctor: "):
        parse_url(url)


def test_routes_given_by_hand_keep_the_contract_rules() -> None:
    contract = load_contract()
    anonymous, user, other = routes_for(
        ["/ws/permissions/anonymous", "ws/permissions/{user_id}/", "/elsewhere/"], contract
    )
    assert anonymous.name == "permissions_anonymous"
    assert anonymous.path_variants() == ["/ws/permissions/anonymous/", "/ws/permissions/anonymous"]
    assert (user.name, user.auth, user.owner_parameter) == ("permissions_user", "owner", "user_id")
    assert (other.name, other.auth, other.parameters) == ("/elsewhere/", "optional", ())
    with pytest.raises(ConfigError):
        routes_for(["/"], contract)


def test_liveness_names_come_from_the_contract_role() -> None:
    contract = load_contract()
    request = contract.liveness_request
    assert request is not None
    assert liveness_names(ProtocolSpec.build(contract)) == (
        request[contract.type_field],
        contract.liveness_reply,
    )
    assert liveness_names(ProtocolSpec()) == (None, None)  # no contract: no request


def test_routes_without_a_contract_are_plain_paths() -> None:
    [route] = routes_for(["/chat/{room}/"], None)
    assert (route.name, route.auth, route.parameters, route.owner_parameter) == (
        "/chat/{room}/",
        "optional",
        ("room",),
        None,
    )


def test_unknown_path_sits_under_the_routes_common_prefix() -> None:
    contract = load_contract()
    routes = list(contract.routes.values())
    prefix = routes[0].address.strip("/").split("/")[0]
    assert unknown_path(routes) == f"/{prefix}/__ws_harness_doctor_no_such_route__/"
    assert unknown_path(routes_for(["/a/x/", "/b/y/"], None)).startswith("/__ws_harness")
    assert unknown_path(routes_for(["/socket"], None)).startswith("/__ws_harness")
