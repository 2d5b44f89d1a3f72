"""Where an account's API keys would go, and whether that is where the user meant.

Keys travel with every private request: to the exchange's own API hosts (as
ccxt's class lists them) unless the account's ``rest_url`` / ``ws_url`` sends
them elsewhere: a proxy, a mirror, or any host at all. Some exchanges put the
secret itself on the wire (Luno's Basic auth, Alpaca's secret header), so a
wrong address gives the key away, not only a signature. The rules, Qt-free:

- keys never travel in plain text (``http://``, ``ws://``) except to this
  computer (loopback: 127.0.0.0/8, ::1, localhost): refused, a ``ConfigError``;
- an address with a user name or password in it is refused for every account
  (``terminal.addresses.check_base``);
- a host that is not one of the exchange's own is a *foreign* host: the
  windows ask the user, naming it, before keys go there ("Test keys", "Trade
  live"), and every keyed source says it in the log at WARNING.

``CcxtSource`` applies the first two and the log to every keyed instance
(``checked_for_keys``); the windows ask before they make one
(``account_key_destinations``).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from terminal.addresses import REST_SCHEMES, WS_SCHEMES, check_base
from terminal.errors import ConfigError, NotSupportedError
from terminal.market.endpoints import API_SECTIONS, api_urls

if TYPE_CHECKING:
    from terminal.config import AccountSettings

log = logging.getLogger(__name__)

PLAIN_SCHEMES = ("http", "ws")
#: where ccxt's ``set_sandbox_mode`` keeps the real API URLs while the sandbox's are in ``api``
_SANDBOX_BACKUP = "apiBackup"


def is_loopback(host: str) -> bool:
    """``host`` is this computer by its name or address (a name that merely
    resolves there, such as ``127.0.0.1.example``, is not)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def own_hosts(exchange: Any) -> frozenset[str]:
    """The hosts of every API address a ccxt exchange instance lists (live,
    sandbox and demo sets), read before any override rewrites them."""
    listed = api_urls(exchange.urls or {}, (*API_SECTIONS, _SANDBOX_BACKUP))
    found = {urlsplit(exchange.implode_hostname(url)).hostname for _, url in listed}
    return frozenset(host.lower() for host in found if host)


@dataclass(frozen=True)
class KeyDestinations:
    """Where one account's keys go: its exchange's own hosts, or also ``foreign`` ones."""

    exchange: str  # the exchange's name, e.g. "Binance"
    foreign: tuple[str, ...]  # host[:port] of each override that is not one of the exchange's own

    @property
    def hosts(self) -> str:
        """The foreign hosts, for a sentence."""
        return " and ".join(self.foreign)

    def summary(self) -> str:
        """Where the keys go, in a few words (the live notice, the log)."""
        if not self.foreign:
            return f"{self.exchange}'s own addresses"
        which = "host" if len(self.foreign) == 1 else "hosts"
        return f"{self.hosts}, not {self.exchange}'s own {which}"


def key_destinations(exchange: Any, rest_url: str | None, ws_url: str | None) -> KeyDestinations:
    """Where keys given to ``exchange`` (a ccxt instance, before the overrides)
    would go with these overrides. Raises ConfigError for a malformed address,
    one with credentials in it, or one that would carry the keys in plain text."""
    own = own_hosts(exchange)
    foreign: set[str] = set()
    for url, schemes, what in ((rest_url, REST_SCHEMES, "REST"), (ws_url, WS_SCHEMES, "websocket")):
        if not url:
            continue
        parts = urlsplit(check_base(url, schemes, what))
        host = (parts.hostname or "").lower()
        if parts.scheme in PLAIN_SCHEMES and not is_loopback(host):
            secure = "https" if what == "REST" else "wss"
            raise ConfigError(
                f"The account's {what} address '{url}' is not encrypted ({parts.scheme}://): its API keys "
                "would travel in plain text, readable on the way.",
                hint=f"Use {secure}://, or remove the address to use the exchange's own. Plain "
                f"{parts.scheme}:// is taken for this computer only (127.0.0.1, ::1, localhost).",
            )
        if host not in own:
            foreign.add(parts.netloc)
    return KeyDestinations(str(exchange.name or exchange.id), tuple(sorted(foreign)))


def checked_for_keys(exchange: Any, rest_url: str | None, ws_url: str | None) -> KeyDestinations:
    """``key_destinations`` for a keyed instance about to be made, and a WARNING
    in the log when the keys go to a host that is not the exchange's own."""
    destinations = key_destinations(exchange, rest_url, ws_url)
    if destinations.foreign:
        log.warning("%s: API keys go to %s", destinations.exchange, destinations.summary())
    return destinations


def account_key_destinations(account: AccountSettings) -> KeyDestinations:
    """Where ``account``'s keys would go, from the real ccxt class, offline.
    Blocks (imports ccxt): call it with ``asyncio.to_thread``."""
    import ccxt.async_support as ccxt_rest
    import ccxt.pro as ccxt_pro

    cls = getattr(ccxt_pro, account.exchange, None) or getattr(ccxt_rest, account.exchange, None)
    if cls is None or account.exchange not in ccxt_rest.exchanges:
        raise NotSupportedError(f"ccxt does not know an exchange called '{account.exchange}'.")
    return key_destinations(cls({"options": dict(account.options)}), account.rest_url, account.ws_url)
