"""The terminal's settings: a validated pydantic model stored as TOML.

A broken file (bad TOML, or values that do not validate) is never
overwritten: the terminal starts on defaults, says what is wrong and where,
and leaves the file for the user to fix. Saving is atomic (write a temporary
file, then rename) so a crash cannot leave half a config behind.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from terminal.addresses import REST_SCHEMES, WS_SCHEMES, check_base
from terminal.atomic_file import atomic_text
from terminal.errors import ConfigError
from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.private_files import log_narrowed, make_private_dir

log = logging.getLogger(__name__)

DEFAULT_WATCHLIST = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


SIMULATED = "simulated"


class AccountSettings(_Section):
    """An exchange account: which ccxt exchange, sandbox or not, and where its
    APIs are. Its keys live in the OS keyring under its name, never here."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    exchange: str = Field(description="ccxt exchange id, e.g. binance, kraken, okx")
    sandbox: bool = False
    rest_url: str | None = Field(default=None, description="REST base URL override (proxy, mirror)")
    ws_url: str | None = Field(default=None, description="websocket base URL override")
    options: dict[str, Any] = Field(default_factory=dict, description="ccxt options for this exchange")

    @field_validator("rest_url")
    @classmethod
    def _rest_url(cls, value: str | None) -> str | None:
        return _base(value, REST_SCHEMES, "REST")

    @field_validator("ws_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        return _base(value, WS_SCHEMES, "websocket")


def _base(value: str | None, schemes: tuple[str, ...], what: str) -> str | None:
    if not value:
        return None
    try:
        return check_base(value, schemes, what)
    except ConfigError as exc:  # the hint too: the field's message is all the user reads
        raise ValueError(exc.user_message()) from None


class MarketSettings(_Section):
    exchange: str = Field(default=SIMULATED, description='"simulated" or the name of an account')
    symbol: str = "BTC/USDT"
    timeframe: str = "1m"

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        if value not in TIMEFRAMES:
            raise ValueError(f"must be one of {', '.join(TIMEFRAMES)}")
        return value


class SimulatorSettings(_Section):
    seed: int | None = Field(
        default=None,
        ge=0,
        le=2**63 - 1,
        description="Seed of the simulated market: empty continues the market kept in the history "
        "file; a different seed starts a new market at the next start",
    )
    history_days: int = Field(default=30, ge=1, le=400)
    speed: float = Field(default=1.0, gt=0, le=50, description="Activity multiplier")


class ChartSettings(_Section):
    time_zone: Literal["local", "utc"] = "local"
    initial_candles: int = Field(default=300, ge=20, le=5000, description="Candles in view on open")


def _toml_number(value: Decimal) -> int | float | str:
    """A Decimal as TOML writes numbers: an integer or a float when either
    holds it exactly, else its text (which reads back as the same Decimal)."""
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else str(value)


#: money in the config: read from a TOML number or string, exact as a Decimal,
#: written back as a number (``model_dump(mode="json")`` would write a string)
Money = Annotated[Decimal, Field(allow_inf_nan=False), PlainSerializer(_toml_number, when_used="json")]


class SymbolRiskSettings(_Section):
    """Tighter (or looser) limits for one symbol; a rule left out takes the account's."""

    max_order_notional: Money | None = Field(default=None, gt=0)
    max_position_notional: Money | None = Field(default=None, gt=0)
    max_position_base: Money | None = Field(default=None, gt=0)
    price_band_pct: Money | None = Field(default=None, gt=0, le=100)


class RiskSettings(_Section):
    """An account's risk rules as the user writes them; ``terminal.trading.settings``
    turns them into the checks' ``RiskLimits`` (docs/trading.md).

    0 turns a rule off: TOML has no "none", and a rule missing from the file
    takes its default, so "off" must be a value that survives a save."""

    max_order_notional: Money = Field(
        default=Decimal(10_000), ge=0, description="largest order, in the order's quote currency; 0 = off"
    )
    max_position_notional: Money = Field(
        default=Decimal(0), ge=0, description="largest position per symbol, in quote at the mid; 0 = off"
    )
    max_position_base: Money = Field(
        default=Decimal(0), ge=0, description="largest position per symbol, in base currency; 0 = off"
    )
    price_band_pct: Money = Field(
        default=Decimal(5), ge=0, le=100, description="limit prices within this % of the mid; 0 = off"
    )
    max_open_orders: int = Field(default=50, ge=0, description="open orders across the account; 0 = off")
    daily_loss_limit: Money = Field(
        default=Decimal(0), ge=0, description="no new buys after losing this much today (UTC); 0 = off"
    )
    symbols: dict[str, SymbolRiskSettings] = Field(default_factory=dict, description="per-symbol overrides")


class PaperTradingSettings(_Section):
    """The paper account every market has (``terminal.trading.paper.account.PaperSettings``).
    A saved paper account keeps the balances it has; these apply to a new one
    and to a reset."""

    start_balances: dict[str, Money] = Field(
        default_factory=lambda: {"USDT": Decimal(10_000)}, description="what a new or reset account holds"
    )
    maker_fee: Money = Field(default=Decimal("0.001"), ge=Decimal("-0.01"), le=Decimal("0.1"))
    taker_fee: Money = Field(default=Decimal("0.001"), ge=0, le=Decimal("0.1"))
    pnl_currency: str = Field(default="USDT", min_length=1, description="daily PnL is counted in it")
    risk: RiskSettings = Field(default_factory=RiskSettings)

    @field_validator("start_balances")
    @classmethod
    def _not_negative(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in value.items():
            if not currency.strip():
                raise ValueError("a currency name is empty")
            if amount < 0:
                raise ValueError(f"the start balance of {currency} must be zero or more")
        return value


class LiveTradingSettings(_Section):
    """What one exchange account (by its name in ``accounts``) trades with."""

    risk: RiskSettings = Field(default_factory=RiskSettings)


class TradingSettings(_Section):
    confirm_orders: bool = Field(default=True, description="show each order as it will be sent, and ask")
    hotkeys_enabled: bool = Field(default=False, description="keyboard trading (buy, sell, flatten, ...)")
    fill_sound: bool = Field(default=False, description="a sound on each fill of an own order")
    paper: PaperTradingSettings = Field(default_factory=PaperTradingSettings)
    live: dict[str, LiveTradingSettings] = Field(
        default_factory=dict, description="per exchange account, by its name"
    )


class ResearchSettings(_Section):
    """Where research jobs (sweeps, walk-forwards) run: this machine's worker
    processes, a local Dask cluster, or a Dask scheduler at an address. A TLS
    private key is kept in the keyring (Settings stores it there) or in a file the
    user names, never here."""

    compute: Literal["local", "dask-local", "dask"] = Field(
        default="local",
        description='"local": this machine\'s worker processes; "dask-local": a Dask cluster started '
        'on this machine; "dask": the scheduler at dask_address',
    )
    dask_address: str = Field(default="", description="tcp://host:port or tls://host:port")
    tls_ca_file: str = Field(default="", description="the cluster's certificate authority (PEM)")
    tls_cert_file: str = Field(default="", description="this terminal's certificate (PEM)")
    tls_key_file: str = Field(
        default="", description="this terminal's private key (PEM), if not kept in the keyring"
    )
    allow_plaintext: list[str] = Field(
        default_factory=list,
        description="host:port of schedulers off this machine that may be reached without TLS",
    )

    @model_validator(mode="after")
    def _address_when_needed(self) -> ResearchSettings:
        if self.compute == "dask" and not self.dask_address.strip():
            raise ValueError('compute = "dask" needs dask_address (tcp://host:port or tls://host:port)')
        return self


class AlertSettings(_Section):
    """Alerts themselves are kept in the history file (terminal/alerts); here, how they are delivered."""

    muted: bool = Field(default=False, description="alerts still fire and are listed, but nothing is sent")
    webhooks: list[str] = Field(
        default_factory=list,
        description="names of webhooks; each one's URL is kept in the OS keyring, never here",
    )
    toast_seconds: int = Field(default=6, ge=1, le=120, description="how long an alert shows in the window")


class Settings(_Section):
    theme: Literal["dark", "light"] = "dark"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    market: MarketSettings = Field(default_factory=MarketSettings)
    watchlist: list[str] = Field(default_factory=lambda: list(DEFAULT_WATCHLIST))
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    chart: ChartSettings = Field(default_factory=ChartSettings)
    keybindings: dict[str, str] = Field(
        default_factory=dict, description="Action id -> key sequence, overriding the defaults"
    )
    accounts: list[AccountSettings] = Field(default_factory=list)
    trading: TradingSettings = Field(default_factory=TradingSettings)
    research: ResearchSettings = Field(default_factory=ResearchSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @model_validator(mode="after")
    def _known_exchange(self) -> Settings:
        names = [a.name for a in self.accounts]
        if len(set(names)) != len(names):
            raise ValueError("accounts: two accounts have the same name")
        if self.market.exchange not in (SIMULATED, *names):
            known = ", ".join([SIMULATED, *names])
            raise ValueError(f"market.exchange '{self.market.exchange}' is not an account (known: {known})")
        for name in self.trading.live:
            if name not in names:
                known = ", ".join(names) or "none yet"
                raise ValueError(f"trading.live.{name} is not an account (known: {known})")
        return self

    def account(self, name: str) -> AccountSettings | None:
        return next((a for a in self.accounts if a.name == name), None)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{where}: {item['msg']}")
    return "; ".join(lines)


def parse_settings(text: str, source: str = "config") -> Settings:
    """Parse TOML text into Settings, raising ConfigError in plain words."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML ({exc}).") from None
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source} has invalid settings: {_describe(exc)}.") from None


#: Told which top-level settings changed (``"theme"``, ``"keybindings"``, ``"trading"``, ...).
ChangeListener = Callable[[frozenset[str]], None]


class ConfigStore:
    """Loads and saves Settings at one path; refuses to overwrite a broken file.

    One store serves every window. A change the user makes goes through
    ``change``, which validates it, saves it and announces it, so that every
    window showing that setting follows (a theme switched in one window
    re-themes them all). What a window shows (its market, its layout) is its
    own state, not a setting: only the window the next start opens like
    writes it back (``remember_market``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None
        self.settings = self._load()
        self._listeners: list[ChangeListener] = []

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener`` with the names of the settings each change touched;
        returns the function that stops it (a closing window calls it)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def change(self, **values: Any) -> None:
        """Set top-level settings (each validated: a bad value raises
        ``ValidationError`` and changes nothing), save them, and tell every
        listener. A listener that fails is logged; the others are still told."""
        before = self.settings.model_copy()
        try:
            for name, value in values.items():
                setattr(self.settings, name, value)
        except ValidationError:
            for name in values:
                object.__setattr__(self.settings, name, getattr(before, name))
            raise
        try:
            self.save()
        except OSError as exc:
            log.warning("Could not save %s: %s (the change holds for this session).", self.path, exc)
        self.announce(*values)

    def announce(self, *names: str) -> None:
        """Tell every listener that these settings changed (after an edit made in place,
        e.g. by the accounts dialog)."""
        changed = frozenset(names)
        for listener in list(self._listeners):
            try:
                listener(changed)
            except Exception:  # one window's failure must not keep the change from the others
                log.exception("A window could not follow the change of %s", ", ".join(sorted(changed)))

    def remember_market(self, exchange: str, symbol: str, timeframe: str) -> None:
        """What the next start opens (the primary window's market, as it closes)."""
        market = self.settings.market
        if exchange != SIMULATED and self.settings.account(exchange) is None:
            return  # an account removed meanwhile: keep what is valid
        market.exchange, market.symbol, market.timeframe = exchange, symbol, timeframe

    @property
    def writable(self) -> bool:
        return self.problem is None

    def _load(self) -> Settings:
        if not self.path.exists():
            settings = Settings()
            self._write(settings)
            return settings
        try:
            return parse_settings(self.path.read_text(encoding="utf-8"), str(self.path))
        except (ConfigError, UnicodeDecodeError, OSError) as exc:
            reason = exc.user_message() if isinstance(exc, ConfigError) else f"{self.path}: {exc}"
            self.problem = (
                f"{reason} The terminal started with default settings and left the file "
                "untouched; fix or delete it, then restart."
            )
            return Settings()

    def save(self) -> bool:
        """Write the current settings; returns False (and writes nothing) if the file was broken."""
        if not self.writable:
            log.info("Not saving settings: %s is broken and kept as it is.", self.path)
            return False
        self._write(self.settings)
        return True

    def _write(self, settings: Settings) -> None:
        """Through the atomic writer: a randomly named temporary file made
        exclusively (a file or symlink planted beside the config is never
        written through), 0600 (the file names the accounts and their hosts),
        synced, then renamed over the config. A failure raises ``OSError``."""
        log_narrowed(log, [make_private_dir(self.path.parent)])
        data = settings.model_dump(mode="json", exclude_none=True)
        with atomic_text(self.path, None, private=True) as f:
            f.write(tomli_w.dumps(data))
