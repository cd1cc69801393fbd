"""The cookies of the web apps and the tokens they carry (session, CSRF)."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

SESSION_COOKIE = "mango_session"
LOGIN_CSRF_COOKIE = "mango_csrf"
LANG_COOKIE = "mango_lang"
FLASH_COOKIE = "mango_flash"


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https"


def tokens_equal(a: object, b: object) -> bool:
    """Two tokens compared in constant time; a missing or empty one never matches."""
    if not isinstance(a, str) or not isinstance(b, str) or not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def new_token() -> str:
    return secrets.token_hex(24)
