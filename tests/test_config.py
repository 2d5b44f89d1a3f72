"""Settings on disk, and the log file and panel feed."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from terminal.config import DEFAULT_WATCHLIST, ConfigStore, Settings
from terminal.logs import LogBuffer, setup_logging
from terminal.trading.paper.settings import paper_settings
from terminal.trading.settings import risk_limits

# -- settings ------------------------------------------------------------------


def test_missing_config_file_is_created_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "config.toml"

    store = ConfigStore(path)

    assert path.exists()
    assert store.problem is None and store.writable
    assert store.settings == Settings()
    assert store.settings.watchlist == DEFAULT_WATCHLIST
    on_disk = tomllib.loads(path.read_text(encoding="utf-8"))
    assert on_disk["market"]["timeframe"] == "1m"
    assert Settings.model_validate(on_disk) == Settings()
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_saved_settings_load_back_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    store = ConfigStore(path)
    store.settings.theme = "light"
    store.settings.market.symbol = "ETH/USDT"
    store.settings.market.timeframe = "4h"
    store.settings.watchlist = ["ETH/USDT", "XRP/USDT"]
    store.settings.simulator.seed = 42
    store.settings.simulator.speed = 2.5
    store.settings.chart.time_zone = "utc"
    store.settings.keybindings = {"chart.zoom_in": "Ctrl+="}

    assert store.save() is True
    reloaded = ConfigStore(path)

    assert reloaded.problem is None
    assert reloaded.settings == store.settings
    assert reloaded.settings.market.timeframe == "4h"
    assert reloaded.settings.simulator.seed == 42


def test_hand_written_partial_file_fills_the_rest_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('theme = "light"\n\n[market]\nsymbol = "SOL/USDT"\n', encoding="utf-8")

    store = ConfigStore(path)

    assert store.problem is None
    assert store.settings.theme == "light"
    assert store.settings.market.symbol == "SOL/USDT"
    assert store.settings.market.timeframe == "1m"
    assert store.settings.simulator == Settings().simulator


BROKEN_FILES = [
    pytest.param('theme = "dark"\n[market\ntimeframe = "1h"\n', "not valid TOML", id="bad-toml"),
    pytest.param('[market]\nsymbol = "ETH/USDT"\ntimeframe = "7m"\n', "market.timeframe", id="timeframe-7m"),
    pytest.param('theme = "pink"\n', "theme", id="theme-pink"),
    pytest.param("[simulator]\nspeed = -3\n", "simulator.speed", id="negative-speed"),
    pytest.param('[chart]\ncolour = "red"\n', "chart.colour", id="unknown-field"),
    pytest.param(b'theme = "\xff\xfe"\n', "config.toml", id="not-utf8"),
]


@pytest.mark.parametrize(("content", "named"), BROKEN_FILES)
def test_broken_config_starts_on_defaults_says_what_is_wrong_and_keeps_the_file(
    tmp_path: Path, content: str | bytes, named: str
) -> None:
    path = tmp_path / "config.toml"
    original = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(original)

    store = ConfigStore(path)

    assert store.settings == Settings()
    assert store.problem is not None
    assert str(path) in store.problem
    assert named in store.problem
    assert not store.writable

    store.settings.theme = "light"  # the user changes something in the running app
    assert store.save() is False
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_invalid_value_names_the_field_and_the_allowed_values(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[market]\ntimeframe = "7m"\n', encoding="utf-8")

    store = ConfigStore(path)

    assert store.problem is not None
    assert "market.timeframe" in store.problem
    assert "1m" in store.problem and "1d" in store.problem  # what would be accepted


def test_assigning_an_invalid_value_in_the_app_is_refused(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    with pytest.raises(ValidationError):
        store.settings.market.timeframe = "7m"
    with pytest.raises(ValidationError):
        store.settings.theme = "pink"  # type: ignore[assignment]
    assert store.settings == Settings()


# -- logging -------------------------------------------------------------------


def logger_with(buffer: LogBuffer, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [buffer]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def test_log_buffer_keeps_formatted_records_in_order() -> None:
    buffer = LogBuffer()
    log = logger_with(buffer, "tests.logbuffer.order")

    log.info("first %s", "line")
    log.warning("second")
    log.error("third")

    lines = buffer.since(0)
    assert [line.seq for line in lines] == [1, 2, 3]
    assert [line.level for line in lines] == [logging.INFO, logging.WARNING, logging.ERROR]
    assert "first line" in lines[0].text and "INFO" in lines[0].text
    assert "WARNING" in lines[1].text


def test_log_buffer_since_returns_only_newer_lines() -> None:
    buffer = LogBuffer()
    log = logger_with(buffer, "tests.logbuffer.since")
    log.info("a")
    log.info("b")
    seen = buffer.since(0)[-1].seq

    assert buffer.since(seen) == []
    log.info("c")
    newer = buffer.since(seen)
    assert len(newer) == 1 and newer[0].text.endswith("c")


def test_log_buffer_keeps_only_the_newest_lines() -> None:
    buffer = LogBuffer(capacity=3)
    log = logger_with(buffer, "tests.logbuffer.capacity")
    for i in range(10):
        log.info("line %d", i)

    lines = buffer.since(0)
    assert [line.text.rsplit(" ", 1)[-1] for line in lines] == ["7", "8", "9"]
    assert [line.seq for line in lines] == [8, 9, 10]  # numbering goes on past the drop


@pytest.mark.usefixtures("restore_logging")
def test_setup_logging_writes_to_the_log_file_and_the_panel(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    buffer = setup_logging(log_dir, "INFO")
    log = logging.getLogger("terminal.tests.file")

    log.info("market session started")
    log.debug("too detailed for INFO")
    for handler in logging.getLogger().handlers:
        handler.flush()

    text = (log_dir / "terminal.log").read_text(encoding="utf-8")
    assert "market session started" in text
    assert "terminal.tests.file" in text and "INFO" in text
    assert "too detailed" not in text
    assert any("market session started" in line.text for line in buffer.since(0))


@pytest.mark.usefixtures("restore_logging")
def test_setting_up_logging_twice_does_not_duplicate_lines(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    setup_logging(log_dir, "INFO")
    buffer = setup_logging(log_dir, "DEBUG")
    log = logging.getLogger("terminal.tests.twice")

    log.debug("only once")
    for handler in logging.getLogger().handlers:
        handler.flush()

    text = (log_dir / "terminal.log").read_text(encoding="utf-8")
    assert text.count("only once") == 1
    assert sum("only once" in line.text for line in buffer.since(0)) == 1
    # DEBUG asked for: the libraries say all they have too (in the file; the panel
    # shows theirs from WARNING up, tests/test_logs.py).
    assert logging.getLogger("ccxt").getEffectiveLevel() == logging.DEBUG


ACCOUNT = """
[market]
exchange = "loopback"

[[accounts]]
name = "loopback"
exchange = "binance"
rest_url = "http://127.0.0.1:8765"
ws_url = "ws://127.0.0.1:8765/stream"
options = { fetchMarkets = { types = ["spot"] }, fetchCurrencies = false }
"""


def test_an_account_with_custom_endpoints_and_options_is_read() -> None:
    from terminal.config import parse_settings

    settings = parse_settings(ACCOUNT)
    account = settings.account("loopback")
    assert account is not None
    assert (account.exchange, account.rest_url, account.ws_url) == (
        "binance",
        "http://127.0.0.1:8765",
        "ws://127.0.0.1:8765/stream",
    )
    assert account.options["fetchMarkets"] == {"types": ["spot"]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('exchange = "loopback"', 'exchange = "kraken-main"'), "not an account"),
        (('rest_url = "http://127.0.0.1:8765"', 'rest_url = "127.0.0.1:8765"'), "must look like http"),
        (('ws_url = "ws://127.0.0.1:8765/stream"', 'ws_url = "http://127.0.0.1:8765"'), "must look like ws"),
        (('name = "loopback"', 'name = "my account!"'), "accounts.0.name"),
    ],
)
def test_a_wrong_account_setting_is_named_in_plain_words(change: tuple[str, str], message: str) -> None:
    from terminal.config import parse_settings
    from terminal.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        parse_settings(ACCOUNT.replace(*change))


# -- trading ---------------------------------------------------------------------


def test_trading_defaults_confirm_orders_and_guard_against_fat_fingers() -> None:
    from decimal import Decimal

    from terminal.trading import RiskLimits
    from terminal.trading.paper.settings import PaperSettings

    trading = Settings().trading
    assert trading.confirm_orders is True and trading.hotkeys_enabled is False
    assert paper_settings(trading.paper) == PaperSettings()  # 10,000 USDT, 0.1% maker and taker
    limits = risk_limits(trading, "simulated", "paper")
    assert limits == RiskLimits(max_order_notional=Decimal(10_000))  # else the core's defaults
    assert (limits.price_band_pct, limits.max_open_orders, limits.daily_loss_limit) == (Decimal(5), 50, None)
    assert risk_limits(trading, "binance-main", "live") == limits  # a live account without its own


def test_trading_settings_round_trip_with_rules_turned_off_and_per_account_limits(tmp_path: Path) -> None:
    from decimal import Decimal

    from terminal.config import AccountSettings, LiveTradingSettings, RiskSettings, SymbolRiskSettings

    path = tmp_path / "config.toml"
    store = ConfigStore(path)
    store.settings.accounts = [AccountSettings(name="binance-main", exchange="binance")]
    trading = store.settings.trading
    trading.confirm_orders = False
    trading.paper.start_balances = {"USDT": Decimal("2500.5"), "BTC": Decimal("0.25")}
    trading.paper.taker_fee = Decimal("0.00075")
    trading.paper.risk = RiskSettings(
        price_band_pct=Decimal(0),  # off
        max_open_orders=0,  # off
        daily_loss_limit=Decimal(300),
        symbols={"BTC/USDT": SymbolRiskSettings(max_order_notional=Decimal(2000))},
    )
    trading.live = {"binance-main": LiveTradingSettings(risk=RiskSettings(max_order_notional=Decimal(500)))}

    assert store.save()
    on_disk = tomllib.loads(path.read_text(encoding="utf-8"))
    assert on_disk["trading"]["paper"]["taker_fee"] == 0.00075  # numbers in the file, not strings
    assert on_disk["trading"]["paper"]["risk"]["price_band_pct"] == 0
    reloaded = ConfigStore(path)

    assert reloaded.problem is None and reloaded.settings == store.settings
    paper = risk_limits(reloaded.settings.trading, "simulated", "paper")
    assert paper.price_band_pct is None and paper.max_open_orders is None  # "off" survived the save
    assert paper.daily_loss_limit == Decimal(300)
    assert paper.for_symbol("BTC/USDT").max_order_notional == Decimal(2000)
    assert paper.for_symbol("ETH/USDT").max_order_notional == Decimal(10_000)
    live = risk_limits(reloaded.settings.trading, "binance-main", "live")
    assert live.max_order_notional == Decimal(500) and live.price_band_pct == Decimal(5)
    settings = paper_settings(reloaded.settings.trading.paper)
    assert settings.start_balances == {"USDT": Decimal("2500.5"), "BTC": Decimal("0.25")}


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[trading]\nconfirm_orders = 'maybe'\n", "trading.confirm_orders"),
        ("[trading.paper]\nmaker_fee = 0.5\n", "trading.paper.maker_fee"),
        ("[trading.paper]\ntaker_fee = -0.001\n", "trading.paper.taker_fee"),
        ("[trading.paper.start_balances]\nUSDT = -10\n", "the start balance of USDT must be zero or more"),
        ("[trading.paper.risk]\nprice_band_pct = 150\n", "trading.paper.risk.price_band_pct"),
        ("[trading.paper.risk]\nmax_order_notional = 'lots'\n", "trading.paper.risk.max_order_notional"),
        ("[trading.paper.risk]\nmax_fingers = 3\n", "trading.paper.risk.max_fingers"),
        ("[trading.live.nope.risk]\nmax_open_orders = 3\n", "trading.live.nope is not an account"),
    ],
)
def test_a_wrong_trading_setting_is_named_in_plain_words(tmp_path: Path, toml: str, named: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")

    store = ConfigStore(path)

    assert store.problem is not None and named in store.problem
    assert store.settings == Settings() and not store.writable  # defaults, and the file is kept
    assert path.read_text(encoding="utf-8") == toml


# -- changes are announced -------------------------------------------------------------------


def test_a_change_is_saved_and_told_to_every_listener_even_after_one_fails(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    told: list[frozenset[str]] = []

    def broken(_changed: frozenset[str]) -> None:
        raise RuntimeError("this window is half closed")

    store.subscribe(broken)
    stop = store.subscribe(told.append)
    store.change(theme="light", keybindings={"chart.latest": "Ctrl+End"})
    assert told == [frozenset({"theme", "keybindings"})]
    saved = tomllib.loads((tmp_path / "config.toml").read_text(encoding="utf-8"))
    assert saved["theme"] == "light" and saved["keybindings"] == {"chart.latest": "Ctrl+End"}

    stop()  # a closed window hears no more
    store.change(theme="dark")
    assert len(told) == 1


def test_a_bad_change_raises_and_changes_nothing(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    told: list[frozenset[str]] = []
    store.subscribe(told.append)
    with pytest.raises(ValidationError):
        store.change(theme="light", log_level="LOUD")
    assert store.settings.theme == "dark" and store.settings.log_level == "INFO"
    assert told == []
    saved = tomllib.loads((tmp_path / "config.toml").read_text(encoding="utf-8"))
    assert saved.get("theme", "dark") == "dark"


def test_the_remembered_market_is_never_an_account_that_no_longer_exists(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "config.toml")
    store.remember_market("gone-account", "ETH/USDT", "5m")
    assert (store.settings.market.exchange, store.settings.market.symbol) == ("simulated", "BTC/USDT")
    store.remember_market("simulated", "ETH/USDT", "5m")
    market = store.settings.market
    assert (market.exchange, market.symbol, market.timeframe) == ("simulated", "ETH/USDT", "5m")
