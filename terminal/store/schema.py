"""Tables of the market-history database, declared with sqlmodel.

The migrations in ``terminal/store/migrations/versions`` create exactly these
tables (a test compares the migrated schema with this metadata), so a change
here needs a new revision there.

Candles are not a row each: ``CandleChunk`` holds up to 1,440 candles of one
series (one UTC day of 1-minute candles; ``chunk_ms`` of the series) as packed
columns. ``terminal.store.candles`` reads and writes chunks with plain SQL
straight from and into numpy arrays; these models serve the schema, the
migrations and the small metadata tables, which sessions may use directly:
``with Session(database.engine()) as session: ...``.

Times are UTC milliseconds since the epoch, as ccxt gives them. Ranges named
``first_*``/``last_*`` are inclusive open times of candles.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, MetaData, UniqueConstraint
from sqlmodel import Field, SQLModel

#: every table of the history database
METADATA: MetaData = SQLModel.metadata


class Instrument(SQLModel, table=True):
    """A market on an exchange (one per exchange and symbol)."""

    __tablename__ = "instrument"
    __table_args__ = (UniqueConstraint("exchange", "symbol", name="uq_instrument_exchange_symbol"),)

    id: int | None = Field(default=None, primary_key=True)
    exchange: str  # ccxt's exchange id ("binance"), or "simulator"
    symbol: str  # ccxt's unified symbol ("BTC/USDT")
    #: open time of the exchange's first candle, once a backward sync has met
    #: the start of its history (revision 0002); a scroll-back stops there
    listed_since_ms: int | None = None


class CandleSeries(SQLModel, table=True):
    """The candles of one instrument in one timeframe."""

    __tablename__ = "candle_series"
    __table_args__ = (UniqueConstraint("instrument_id", "timeframe", name="uq_candle_series_timeframe"),)

    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(foreign_key="instrument.id", ondelete="CASCADE")
    timeframe: str  # ccxt's notation: "1m", "1h", "1d"
    timeframe_ms: int
    #: span of one chunk, fixed when the series is created (so changing the
    #: default later never re-slices stored data)
    chunk_ms: int


class CandleChunk(SQLModel, table=True):
    """Candles of one series whose open time lies in
    [chunk_start, chunk_start + chunk_ms): sorted by open time, no duplicates.

    ``data`` is six little-endian 8-byte columns one after another, ``candles``
    values each: open time (int64 ms), then open, high, low, close and volume
    (float64). ``codec`` 0 stores them as they are, 1 zlib-compresses them.
    ``first_ts``/``last_ts``/``candles`` repeat what ``data`` holds so that
    coverage queries never decode a chunk.
    """

    __tablename__ = "candle_chunk"
    __table_args__ = (UniqueConstraint("series_id", "chunk_start", name="uq_candle_chunk_start"),)

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="candle_series.id", ondelete="CASCADE")
    chunk_start: int
    first_ts: int
    last_ts: int
    candles: int
    codec: int = 0
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class SyncState(SQLModel, table=True):
    """Progress of a history download, so that an interrupted one resumes
    (revision 0002). One row per series and direction: "forward" fills up to
    now, "backward" extends history into the past."""

    __tablename__ = "sync_state"
    __table_args__ = (UniqueConstraint("series_id", "direction", name="uq_sync_state_direction"),)

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="candle_series.id", ondelete="CASCADE")
    direction: str
    #: the next open time to request; everything on the far side is stored
    cursor_ms: int
    #: where this download stops (None: now, for forward)
    target_ms: int | None = None
    status: str = "idle"  # idle | running | done | failed
    updated_ms: int = 0
    message: str = ""  # the last error in plain words, for the data manager
    #: candles dealt with (fetched, or found to hold no trading) of those missing
    #: when it started (revision 0003)
    done: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    total: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class NoTradeGap(SQLModel, table=True):
    """A stretch of missing candles that the exchange confirmed it does not
    have (no trading), so that it is not requested again (revision 0002)."""

    __tablename__ = "no_trade_gap"
    __table_args__ = (UniqueConstraint("series_id", "first_missing_ts", name="uq_no_trade_gap_start"),)

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="candle_series.id", ondelete="CASCADE")
    first_missing_ts: int
    last_missing_ts: int
    checked_ms: int  # when the exchange last answered with nothing for it


class BacktestRun(SQLModel, table=True):
    """A saved backtest, to reopen and compare later (revision 0004).

    Not tied to the candles: a run stays when its market's history is
    deleted, so the market is named, not referenced. The summary columns are
    what a list of runs shows; ``params``, ``settings`` and ``metrics`` are
    JSON text. The curves (one value per bar) and the trade tables are not a
    row each but a blob each, written and read by
    ``terminal.backtest.run_store``: a numpy ``.npy`` image (dtype and shape
    in its header), zlib-compressed unless it starts with the ``.npy`` magic
    bytes. They come last so that listing runs never reads them.
    """

    __tablename__ = "backtest_run"

    id: int | None = Field(default=None, primary_key=True)
    created_ms: int
    label: str
    strategy: str  # the registry name of a built-in, or the user strategy's name
    #: SHA-256 of a user strategy's file, or "builtin:<terminal version>"
    source_hash: str | None = None
    params: str  # JSON object
    exchange: str
    symbol: str
    timeframe: str
    start_ms: int  # open times of the first and the last bar
    end_ms: int
    bars: int
    settings: str  # JSON: BacktestSettings.model_dump(mode="json")
    metrics: str  # JSON: Metrics.as_dict(); NaN and infinity as JavaScript writes them
    trade_count: int  # closed trades (the open trade, if kept apart, is not counted)
    ts: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    equity: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    drawdown: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    position: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    cash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    trades: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    open_trade: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class PaperAccountState(SQLModel, table=True):
    """A paper account as ``PaperAccount.to_dict()`` gives it, saved after each
    change (at most every half second) and when the terminal closes (revision
    0005). One row per account name ("simulated", or an exchange account's
    name); ``state`` is JSON text with Decimals as strings."""

    __tablename__ = "paper_account"

    account: str = Field(primary_key=True)
    state: str
    updated_ms: int


class SimulatedMarketRecord(SQLModel, table=True):
    """The simulated market a history file holds (revision 0006): its seed, when it
    began, and the time it last ran to. Its 1m candles are kept under the exchange
    name ``name`` like any other market's; with them it continues where it stopped."""

    __tablename__ = "simulated_market"

    name: str = Field(primary_key=True)
    seed: int
    started_ms: int
    saved_ms: int


class TradingJournalEntry(SQLModel, table=True):
    """The audit trail of trading (revision 0005): every order intent, risk
    and validation result, request, exchange (or paper) response, fill,
    cancel, error and account reset, oldest first by ``id``.

    ``kind`` is one of intent, check, request, response, fill, cancel, error,
    reset; ``broker`` is paper or live; ``payload`` is JSON text holding orders
    and answers, never keys (``terminal.trading.journal``). Written by
    ``TradingJournal`` in batches."""

    __tablename__ = "trading_journal"
    __table_args__ = (Index("ix_trading_journal_account_ts", "account", "ts_ms"),)

    id: int | None = Field(default=None, primary_key=True)
    ts_ms: int
    account: str
    broker: str
    kind: str
    client_order_id: str | None = Field(default=None, index=True)
    symbol: str | None = None
    payload: str


class StudyRecord(SQLModel, table=True):
    """A research study (revision 0007): one sweep's definition, kept so that it
    resumes after the terminal was closed or killed (``terminal.research.study``).

    What ran (the strategy's name and the hash of its source, the fixed ``params``),
    on what (the market, the first and last candle's open time, their count, and the
    data ``fingerprint``: any changed candle changes it), how (method, seed, the
    ``space`` of parameters and constraints, objectives, filters, settings, budget,
    early stop) and where it stands: ``status`` running (or interrupted: nothing
    marked it since), stopped (early stop), done, or cancelled, with the message
    the sweep stopped with. The definition's fields are JSON text."""

    __tablename__ = "study"

    id: int | None = Field(default=None, primary_key=True)
    created_ms: int
    updated_ms: int  # when the last trial was stored or the status changed
    label: str
    strategy: str
    source_hash: str  # a user strategy's file's SHA-256, or "builtin:<terminal version>"
    exchange: str
    symbol: str
    timeframe: str
    first_ts: int
    last_ts: int
    candles: int
    fingerprint: str  # terminal.research.fingerprint.data_fingerprint
    method: str  # grid, random, tpe, cmaes, nsga2
    seed: int
    space: str  # JSON: Space.to_dict()
    objectives: str  # JSON list of objective names
    filters: str  # JSON: min_trades, max_drawdown
    params: str  # JSON: the strategy parameters the space does not vary
    settings: str  # JSON: BacktestSettings.model_dump(mode="json")
    budget: int | None = None
    early_stop: int | None = None
    status: str  # running | stopped | done | cancelled
    message: str
    folds: int = Field(default=1, sa_column_kwargs={"server_default": "1"})  # revision 0009
    prune: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})  # revision 0009


class StudyTrialRecord(SQLModel, table=True):
    """One completed trial of a study (revision 0007), written in its own transaction
    as it completes. ``number`` is unique in its study: a trial is never stored
    twice. ``params``, ``objective_values`` and ``metrics`` (the light metrics; none
    for a failed trial) are JSON text. ``daily`` is the trial's daily returns as
    little-endian float32 from ``first_day`` (days since 1970-01-01), for the
    overfitting odds; it comes last so that listing trials never reads it."""

    __tablename__ = "study_trial"
    __table_args__ = (UniqueConstraint("study_id", "number", name="uq_study_trial_number"),)

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", ondelete="CASCADE")
    number: int
    params: str
    objective_values: str
    metrics: str | None = None
    state: str  # done | filtered | failed
    reason: str  # why it was filtered or failed; "" when it counts
    violation: float
    seconds: float
    repeat_of: int | None = None
    first_day: int | None = None
    daily: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class TrialCacheEntry(SQLModel, table=True):
    """A computed trial's outcome by the hash of what decides it (revision 0007;
    ``terminal.research.fingerprint.trial_key``: the data fingerprint, the strategy's
    name and source hash, the parameters, the settings), so that the same trial is
    never computed twice, across studies and sessions. ``metrics`` is JSON text (none
    when it failed, ``error`` then says why); ``daily`` as in ``StudyTrialRecord``."""

    __tablename__ = "trial_cache"

    key: str = Field(primary_key=True)
    created_ms: int
    metrics: str | None = None
    error: str
    seconds: float  # how long it took to compute
    first_day: int | None = None
    daily: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class StrategyVersionRecord(SQLModel, table=True):
    """One version of a user strategy (revision 0008): the text of its file as a saved
    run or a study used it, keyed by the strategy's name and the file's SHA-256 (what
    ``BacktestRun.source_hash`` and ``StudyRecord.source_hash`` keep), so that the runs
    of each version can be told apart, two versions compared and an old one restored
    (``terminal.backtest.strategy_versions``). ``path`` is where the file was when the
    version was first seen; ``note`` is the user's. The text comes last so that a
    listing reads it from no overflow page."""

    __tablename__ = "strategy_version"

    strategy: str = Field(primary_key=True)
    source_hash: str = Field(primary_key=True)
    path: str
    first_seen_ms: int
    note: str
    source: str


class ChartDrawingRecord(SQLModel, table=True):
    """A drawing on the chart of one market (revision 0010): a horizontal line, trend
    line, ray, rectangle, Fibonacci retracement or text note (``terminal.store.drawings``).

    Kept per exchange and symbol, not per timeframe: its ``points`` are a JSON list of
    ``[time_s, price]`` (a candle's open time in seconds), so it shows on every
    timeframe. Like ``BacktestRun`` it names its market rather than referencing the
    candles, so deleting a market's history leaves its drawings. ``position`` is the
    drawing order (the last on top); ``id`` is the chart's own (a uuid's hex)."""

    __tablename__ = "drawing"

    exchange: str = Field(primary_key=True)
    symbol: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    position: int
    kind: str  # hline | trend | ray | rect | fib | note
    points: str  # JSON: [[time_s, price], ...]
    text: str
    color: str  # "#rrggbb"
    updated_ms: int


class AlertRow(SQLModel, table=True):
    """One of the user's alerts (revision 0011; ``terminal.store.alerts``). ``body`` is the
    alert as ``terminal.alerts.rules.Alert.to_json()`` gives it: the store keeps the text
    and does not judge it, so a row a newer terminal wrote, or one that no longer
    validates, stays as it is. ``position`` is the alerts panel's order. Webhooks are named
    in it, never their URLs (those are in the keyring)."""

    __tablename__ = "alert"

    id: str = Field(primary_key=True)
    body: str
    position: int
    updated_ms: int


class AlertFiredRow(SQLModel, table=True):
    """One time an alert fired (revision 0011): when, on what value (none for an order or a
    feed alert), and what the notification said. Not tied to the ``alert`` row: deleting
    an alert leaves its history. The newest 5,000 are kept (``terminal.store.alerts``)."""

    __tablename__ = "alert_fired"

    id: int | None = Field(default=None, primary_key=True)  # SQLite's rowid: the order of recording
    alert_id: str
    fired_ms: int = Field(index=True)
    value: float | None = None
    title: str
    message: str
    symbol: str
    exchange: str
