"""ASGI middleware of the web apps."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Served over HTTPS (directly, or behind a proxy that says so with X-Forwarded-Proto, which uvicorn
# trusts from the proxy's address): browsers keep to HTTPS for a year.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response, no caching of pages, HSTS when
    the request came over HTTPS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (
                b"content-security-policy",
                b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope["path"].startswith("/static/")
        is_https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + self.headers
                if not is_static:
                    headers.append((b"cache-control", b"no-store"))
                if is_https:
                    headers.append(HSTS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
