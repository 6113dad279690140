"""The browser checks: a real Chromium opens the WebSocket the way a web page does.

    same_origin     a page on the server's own origin connects and gets the contract's
                    confirmation (and its liveness reply): what the incident's browser
                    test page could not do
    signed_in       a signed-in browser connects as its user, carrying the credential the
                    way the config says the app reads it (a cookie in the browser's jar, the
                    query string, or a subprotocol)
    foreign_origin  a page on a foreign site is refused, anonymous and carrying the user's
                    credential (cross-site WebSocket hijacking); a page on another port of
                    the server's host is reported, not judged

Every name (routes by ``x-auth``, the confirmation, the liveness request, the cookie) comes
from the contract and the config. Each check returns a ``SecurityVerdict``; a check that
cannot apply (no route or user for it, header auth a browser cannot send) raises
``CheckSkipped`` with the reason.

Cookies: the browser gets the configured login's cookie (``auth.cookie``) in its jar for
the server's URL, as a login page would leave it, with Django's default attributes
(``HttpOnly``, ``SameSite=Lax``). Whether a browser takes it along to a foreign page's
WebSocket is the browser's decision (SameSite and third-party cookie rules; the Chromium the
harness is tested with does not, even for ``SameSite=None``), so the foreign-site check
judges the server's origin check with an anonymous attempt too, which needs no cookie.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from harness.browser.cdp import Chromium, Page
from harness.browser.page_socket import BrowserAttempt, Waits, open_socket, serve_page
from harness.client import Transcript
from harness.engine.runner import RunContext
from harness.fuzz.driver import USER_ROUTES, Identity, endpoint, known_users, route_with
from harness.fuzz.security import SecurityVerdict

FOREIGN_HOST = "foreign.ws-harness.test"  # never resolved: the harness serves its page
# Chromium must not look the foreign host up anywhere, even if something asked it to.
HOST_RULES = (f"MAP {FOREIGN_HOST} ~NOTFOUND",)
PAGE_PATH = "/ws-harness-browser-check"  # never requested from the server: served by DevTools


class CheckSkipped(Exception):
    """The check does not apply to this contract or config; the message says why."""


def launch(binary: str | None = None) -> Chromium:
    """A Chromium set up for these checks (the foreign host resolves nowhere)."""
    return Chromium.launch(binary, host_rules=HOST_RULES)


def own_origin(ctx: RunContext) -> str:
    """The server's origin: what a page it serves has, and what its browser sends."""
    parts = urlsplit(ctx.target.http_url)
    return f"{parts.scheme}://{parts.netloc}"


def foreign_origin_url(ctx: RunContext) -> str:
    return f"{urlsplit(ctx.target.http_url).scheme}://{FOREIGN_HOST}"


def other_port_origin(ctx: RunContext) -> str:
    """The server's host on another port: another origin on the same site."""
    parts = urlsplit(ctx.target.http_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port % 65535 + 1}"


def _waits(ctx: RunContext) -> Waits:
    timeouts = ctx.config.timeouts
    return Waits(connect=timeouts.connect, reply=timeouts.reply, close=timeouts.close)


def anonymous_identity(ctx: RunContext) -> Identity | None:
    route = route_with(ctx.contract, "optional", "anonymous")
    return Identity(route, None) if route is not None else None


def user_identity(ctx: RunContext) -> Identity | None:
    route = route_with(ctx.contract, *USER_ROUTES)
    users = known_users(ctx.config)
    return Identity(route, users[0]) if route is not None and users else None


def connect_from(
    ctx: RunContext,
    chromium: Chromium,
    page_origin: str,
    identity: Identity,
    transcript: Transcript,
    *,
    liveness: bool = False,
) -> BrowserAttempt:
    """A page on ``page_origin`` (a fresh browser context) opens ``identity``'s route,
    carrying the user's credential the way the config presents it."""
    label = f"{identity.user or 'anonymous'}@{urlsplit(page_origin).netloc}"
    with chromium.page() as page:
        serve_page(page, page_origin + PAGE_PATH)
        url, protocols = _credentials(ctx, page, identity)
        user = ctx.config.user(identity.user) if identity.user else None
        return open_socket(
            page,
            url,
            ctx.session(user),
            _waits(ctx),
            protocols=protocols,
            transcript=transcript,
            label=label,
            liveness=liveness,
        )


def _credentials(ctx: RunContext, page: Page, identity: Identity) -> tuple[str, tuple[str, ...]]:
    """The URL to open and the subprotocols to offer; a cookie goes into the browser's jar."""
    if identity.user is None:
        return endpoint(ctx, identity), ()
    auth = ctx.config.auth
    if auth.present == "header":
        raise CheckSkipped(
            f"{ctx.config.source}: auth.present is header ({auth.header}); a browser's "
            "WebSocket cannot send headers, so a browser cannot sign in this way"
        )
    token = ctx.tokens.token(identity.user)
    if auth.present == "cookie":
        page.send(
            "Network.setCookie",
            name=auth.cookie,
            value=token,
            url=ctx.target.http_url,
            path="/",
            httpOnly=True,
            sameSite="Lax",
        )
    return endpoint(ctx, identity, token), tuple(ctx.tokens.present(token).subprotocols)


def _confirms(ctx: RunContext) -> str:
    name = ctx.spec.confirmation
    return f"its {name!r} confirmation" if name else "an open connection (no confirmation)"


# -- the checks --------------------------------------------------------------------------


def same_origin(ctx: RunContext, chromium: Chromium, transcript: Transcript) -> SecurityVerdict:
    """A page on the server's own origin connects, is confirmed and served."""
    identity = anonymous_identity(ctx) or user_identity(ctx)
    if identity is None:
        raise CheckSkipped(
            f"{ctx.contract.source}: no route with x-auth optional or anonymous, and no route "
            f"for a user of {ctx.config.source} (users need user_id and role)"
        )
    own = own_origin(ctx)
    attempt = connect_from(ctx, chromium, own, identity, transcript, liveness=True)
    ok = attempt.accepted and not attempt.problem
    details = [f"{identity.route} from a page on {own}: {attempt.describe()}"]
    if attempt.origin_sent not in (None, own):
        details.append(f"note: the browser sent Origin {attempt.origin_sent}, not {own}")
    summary = (
        f"a page on the server's origin gets {_confirms(ctx)}"
        if ok
        else f"a page on the server's own origin {own} was not served: "
        f"{attempt.problem or 'refused'} (a browser client cannot connect)"
    )
    return SecurityVerdict("browser on the server's origin", ok, summary, details)


def signed_in(ctx: RunContext, chromium: Chromium, transcript: Transcript) -> SecurityVerdict:
    """A signed-in browser (same origin) is confirmed as its user."""
    identity = user_identity(ctx)
    if identity is None:
        raise CheckSkipped(
            f"needs a route with x-auth {', '.join(USER_ROUTES)} in {ctx.contract.source} and a "
            f"user with user_id and role in {ctx.config.source}"
        )
    own = own_origin(ctx)
    auth = ctx.config.auth
    attempt = connect_from(ctx, chromium, own, identity, transcript, liveness=True)
    ok = attempt.accepted and not attempt.problem
    carried = {
        "cookie": f"cookie {auth.cookie!r} in the browser's jar",
        "query": f"?{auth.query_param}= in the URL",
        "subprotocol": "a WebSocket subprotocol",
    }.get(auth.present, auth.present)
    details = [f"{identity.route} as {identity.user} ({carried}): {attempt.describe()}"]
    if auth.present == "cookie" and auth.cookie not in attempt.cookies_sent:
        details.append(f"note: the browser did not send the {auth.cookie!r} cookie")
    user = ctx.config.user(identity.user or "")
    summary = (
        f"the browser is confirmed as {identity.user} (user_id {user.user_id!r})"
        if ok
        else f"a signed-in browser ({carried}) was not served as {identity.user}: "
        f"{attempt.problem or 'refused'}"
    )
    return SecurityVerdict("signed-in browser", ok, summary, details)


def foreign_origin(ctx: RunContext, chromium: Chromium, transcript: Transcript) -> SecurityVerdict:
    """Pages on a foreign site must be refused, with and without the user's credential."""
    identities = [i for i in (anonymous_identity(ctx), user_identity(ctx)) if i is not None]
    if not identities:
        raise CheckSkipped(f"{ctx.contract.source}: no route a browser could open")
    foreign = foreign_origin_url(ctx)
    details, accepted = [], []
    for identity in identities:
        try:
            attempt = connect_from(ctx, chromium, foreign, identity, transcript)
        except CheckSkipped as exc:  # header auth: the anonymous attempt still judges
            details.append(f"{identity.route} as {identity.user}: not tried ({exc})")
            continue
        who = identity.user or "anonymous"
        details.append(f"{identity.route} as {who} from {foreign}: {attempt.describe()}")
        if attempt.accepted:
            accepted.append(f"{identity.route} as {who}")
        cookie = ctx.config.auth.cookie if ctx.config.auth.present == "cookie" else None
        if identity.user and cookie and attempt.opened and cookie not in attempt.cookies_sent:
            details.append(
                f"note: the browser did not take the {cookie!r} cookie to the foreign page "
                "(SameSite and third-party cookie rules), so this attempt was anonymous"
            )
        if attempt.origin_sent not in (None, foreign):
            details.append(f"note: the browser sent Origin {attempt.origin_sent}")
    neighbour = other_port_origin(ctx)
    nearby = connect_from(ctx, chromium, neighbour, identities[0], transcript)
    details.append(f"(not judged) {identities[0].route} from {neighbour}: {nearby.describe()}")
    if nearby.accepted:
        details.append(
            "note: a page on another port of the server's host was accepted: the origin "
            "check ignores ports (as Channels' AllowedHostsOriginValidator does), so a page "
            "served by any web server on this host can open connections"
        )
    if accepted:
        summary = (
            f"a page on {foreign} was let in (cross-site WebSocket hijacking): "
            f"{', '.join(accepted)}"
        )
        return SecurityVerdict("browser on a foreign site", False, summary, details)
    return SecurityVerdict(
        "browser on a foreign site", True, f"pages on {foreign} are refused", details
    )
