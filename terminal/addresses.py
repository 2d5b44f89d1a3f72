"""API addresses as the user gives them (an account's custom REST and
websocket endpoints): checked, and shown with any user name or password
masked.

Below the configuration and the exchange code alike: ``terminal.config``
checks an account's addresses with these as it loads, and
``terminal.market.endpoints`` before it points ccxt at them.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from terminal.errors import ConfigError

REST_SCHEMES = ("http", "https")
WS_SCHEMES = ("ws", "wss")


def check_base(url: str, schemes: tuple[str, ...], what: str) -> str:
    """``url`` if it is a usable base for ``what`` (scheme and host, no user name
    or password), else ConfigError; the message never repeats a password."""
    shown = mask_userinfo(url)
    if "@" in url:  # anywhere: "http://user:p/w@host" is not parsed as a user and host
        raise ConfigError(
            f"The {what} address '{shown}' holds a user name or password (an '@'): the terminal does "
            "not take credentials inside an address.",
            hint=f"Remove the part before '@' ({schemes[-1]}://host:port[/path]), or use a proxy that "
            "needs no credentials in its address.",
        )
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc or not _has_valid_port(parts):
        raise ConfigError(f"The {what} address '{shown}' must look like {schemes[0]}://host:port[/path].")
    if parts.query or parts.fragment:
        raise ConfigError(f"The {what} address '{shown}' must not have a query or fragment.")
    return url.rstrip("/")


def mask_userinfo(url: str) -> str:
    """``url`` with what may be a user name and password (everything between
    ``://`` and the last ``@`` before any query) replaced by ``***``, to be
    shown or logged. Generous on purpose: a password may hold a '/'."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, end)
    if at < 0:
        return url
    return f"{scheme}{sep}***{rest[at:]}"


def _has_valid_port(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        return False
    return True
