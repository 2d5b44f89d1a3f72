"""Exchange accounts as ccxt sees them: which exchanges there are (and whether
they have a sandbox, or keys with a password), the API addresses an account
will use, and a check that an account's keys work.

Qt-free; the accounts dialog shows what these return. Each function that
imports ccxt or makes an exchange blocks (ccxt takes half a second to import)
and says so: call it with ``asyncio.to_thread``. Nothing here touches the
network except ``check_keys``, which makes one private request.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

from terminal.config import AccountSettings
from terminal.credentials import ApiKey, CredentialError, CredentialStore
from terminal.errors import ExchangeError, NotSupportedError
from terminal.market.ccxt_errors import translate
from terminal.market.endpoints import api_urls, override_urls


@dataclass(frozen=True)
class ExchangeInfo:
    id: str
    name: str
    has_sandbox: bool  # ccxt has a testnet for it (urls["test"])
    needs_password: bool  # its API keys come with a password (passphrase)

    @property
    def label(self) -> str:
        return f"{self.id} — {self.name}"


@functools.cache
def exchange_catalogue() -> dict[str, ExchangeInfo]:
    """Every exchange ccxt knows, by id. Blocks (imports ccxt, makes each class once)."""
    import ccxt.async_support as ccxt_rest
    import ccxt.pro as ccxt_pro

    found: dict[str, ExchangeInfo] = {}
    for exchange_id in ccxt_rest.exchanges:
        cls = getattr(ccxt_pro, exchange_id, None) or getattr(ccxt_rest, exchange_id)
        exchange = cls()  # offline: a session is opened on the first request only
        found[exchange_id] = ExchangeInfo(
            exchange_id,
            str(exchange.name or exchange_id),
            bool((exchange.urls or {}).get("test")),
            bool((exchange.requiredCredentials or {}).get("password")),
        )
    return found


@dataclass(frozen=True)
class Endpoint:
    where: str  # "api.public", "api.ws.spot", ...
    url: str
    was: str | None  # the exchange's own address, when the account rewrites it


def account_endpoints(account: AccountSettings) -> list[Endpoint]:
    """Every API address ``account`` will use, made by the real ccxt class, offline. Blocks.

    Made as CcxtSource makes them (sandbox first, then the overrides), but
    without one: a CcxtSource logs its rewrites, and this runs each time the
    user edits an address.
    """
    import ccxt
    import ccxt.async_support as ccxt_rest
    import ccxt.pro as ccxt_pro

    cls = getattr(ccxt_pro, account.exchange, None) or getattr(ccxt_rest, account.exchange, None)
    if cls is None or account.exchange not in ccxt_rest.exchanges:
        raise NotSupportedError(f"ccxt does not know an exchange called '{account.exchange}'.")
    exchange = cls({"options": dict(account.options)})
    error: Exception | None = None
    try:
        if account.sandbox:
            exchange.set_sandbox_mode(True)
    except ccxt.BaseError as exc:
        error = translate(exc, str(exchange.name))
    if error is not None:  # raised outside the except: the ccxt error is not chained
        raise error
    rewritten = {r.where: r.old for r in override_urls(exchange.urls, account.rest_url, account.ws_url)}
    shown = exchange.implode_hostname  # "https://{hostname}" → the host the exchange will use
    # Requests use urls["api"] only: "test" and "demo" are sets that sandbox mode copies there.
    return [
        Endpoint(where, shown(url), shown(rewritten[where]) if where in rewritten else None)
        for where, url in api_urls(exchange.urls)
        if where.startswith("api.")
    ]


def _ccxt_source(account: AccountSettings, key: ApiKey) -> Any:
    """A CcxtSource for ``account`` with ``key``. Blocks (imports ccxt); opens no connection."""
    from terminal.market.ccxt_source import CcxtSource

    return CcxtSource(
        account.exchange,
        sandbox=account.sandbox,
        rest_url=account.rest_url,
        ws_url=account.ws_url,
        # ApiKey is a frozen dataclass; the Credentials protocol declares writable attributes.
        credentials=key,
        options=account.options,
    )


async def check_keys(account: AccountSettings, store: CredentialStore) -> str:
    """Read the account's keys from the keyring and make one private request with them
    (fetch_balance). Returns what to tell the user; raises a TerminalError in plain words."""
    key = await asyncio.to_thread(store.load, account.name)
    if key is None:
        raise CredentialError(
            f"No keys are stored for account '{account.name}'.", hint="Enter them and save them first."
        )
    source = await asyncio.to_thread(_ccxt_source, account, key)
    try:
        balance = await source.fetch_balance()
    except ExchangeError as exc:
        if exc.transient:  # the source's own hint ("retries by itself") is not true of a test
            exc.hint = "Check the account's addresses and the network, then test again."
        raise
    finally:
        await source.close()
    total = balance.get("total") or {}
    held = sum(1 for amount in total.values() if amount)
    return f"Keys work: {held} asset{'' if held == 1 else 's'}."
