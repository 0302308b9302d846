"""Who is calling the API, and may they call this route? Runs before every /api request.

Credentials: `Authorization: Bearer <token>` (tokens from `approvals users token create`). With
`[security] dev_identity = true` (development only) an `X-Actor` header is also trusted, with every role.
The API never reads the web session cookie, so cross-site requests cannot ride on a clerk's login (no CSRF
surface); the web pages have their own sign-in and CSRF checks (engine/web).
"""

from __future__ import annotations

from flask import Flask, g, request

from engine.api.session import now, state
from engine.auth import tokens
from engine.auth.accounts import principal_for
from engine.auth.roles import Principal
from engine.auth.routes import Access, allowed
from engine.errors import Forbidden, Unauthenticated

API_PREFIXES = ("/api/", "/engine-rest/", "/metrics")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path in ("/api", "/engine-rest")


def principal_from_headers() -> Principal | None:
    header = request.headers.get("Authorization", "").strip()
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() == "basic" and request.path.startswith("/engine-rest/"):
            from engine.engine_rest.basic_auth import principal_from_basic  # Camunda clients (issue 12)

            return principal_from_basic(secret.strip())
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("send 'Authorization: Bearer <token>'")
        with state().sessions() as session:
            user = tokens.authenticate(session, secret.strip(), now=now())
            if user is None:
                raise Unauthenticated("the token is unknown, expired or revoked, or its user is disabled")
            return principal_for(user, via="token")
    name = request.headers.get("X-Actor", "").strip()
    if name:
        if not state().settings.security.dev_identity:
            raise Unauthenticated("X-Actor is the development identity and is switched off; "
                                  "send 'Authorization: Bearer <token>'")
        return Principal.dev(name[:100])
    return None


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
    return principal


def check_access(rule: str, method: str, principal: Principal | None) -> None:
    """Raise Unauthenticated / Forbidden unless the route table lets this principal call the route."""
    roles = allowed(rule, method)
    if roles is Access.PUBLIC:
        return
    if principal is None:
        raise Unauthenticated("sign in first")
    if roles is None:
        raise Forbidden(f"{method} {rule} has no access rule; refused for everyone")
    if roles is Access.SIGNED_IN or principal.roles & roles:
        return
    needed = ", ".join(sorted(r.value for r in roles))
    raise Forbidden(f"{method} {rule} needs one of the roles: {needed}", roles=sorted(principal.roles))


def _before_api_request() -> None:
    if not is_api_path(request.path) or request.url_rule is None:
        return  # pages are checked by engine/web; unknown URLs fall through to 404/405
    if request.url_rule.rule == "/metrics" and state().settings.server.metrics_public:
        return  # `[server] metrics_public`: a scraper on a private network reads without a token
    g.principal = principal_from_headers()
    check_access(request.url_rule.rule, request.method, g.principal)


def init_app(app: Flask) -> None:
    app.before_request(_before_api_request)
