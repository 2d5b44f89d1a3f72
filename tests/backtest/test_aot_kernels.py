"""The backtest kernels compiled ahead of time (``packaging/aot_kernels.py``: what
the frozen build ships instead of numba) against numba's JIT.

The module is built here, into a temporary folder, from the same Python
functions the JIT compiles. Then: every kernel gives bit-identical results on
random inputs (neither path lets LLVM reorder or fuse floating-point
operations, so the generic x86-64 code and the JIT's code for this CPU compute
the same numbers); ``run_backtest`` through the ahead-of-time path (in a
process where numba cannot be imported, as in the bundle) gives the same
trades, equity, position and cash for every built-in strategy under varied
settings; the compiled functions release the GIL and refuse arrays of the
wrong type; and with neither numba nor the module, a backtest says so.

Marked ``slow`` (the build takes ~5 s) but part of the default run.
"""

from __future__ import annotations

import importlib.util
import pickle
import platform
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from terminal.backtest import jit
from terminal.backtest.trades import N_TRADE_COLUMNS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "aot_kernels.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aot_kernels", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


aot_kernels = _load_script()


@pytest.fixture(scope="module")
def aot_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module, built by the script the build runs, in a process of its own."""
    out = tmp_path_factory.mktemp("aot")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=500,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    path = aot_kernels.built_module(out)
    assert path is not None, result.stdout
    return Path(path)


@pytest.fixture(scope="module")
def aot(aot_path: Path) -> ModuleType:
    """The built module, loaded beside numba in this process (under a name of its own)."""
    spec = importlib.util.spec_from_file_location(f"aot_under_test.{aot_kernels.NAME}", aot_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


# -- the kernels, one by one --------------------------------------------------------------
def prices(rng: np.random.Generator, n: int) -> np.ndarray:
    return 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))


def _indicator_inputs(rng: np.random.Generator) -> dict[str, list[tuple[Any, ...]]]:
    n = int(rng.integers(1, 3_000))
    x = prices(rng, n)
    flat = np.full(n, 100.0)  # a price that does not move: RSI's 50, a zero deviation
    high = x * (1.0 + np.abs(rng.normal(0.0, 0.003, n)))
    low = x * (1.0 - np.abs(rng.normal(0.0, 0.003, n)))
    periods = [1, 2, int(rng.integers(3, 60)), n, n + 2]
    return {
        "_sma": [(x, p) for p in periods],
        "_smooth": [(x, p, 2.0 / (p + 1), first) for p in periods for first in (0, min(3, n - 1))],
        "_rsi": [(c, p) for p in periods for c in (x, flat)],
        "_true_range": [(high, low, x)],
        "_rolling_std": [(c, p) for p in periods for c in (x, flat)],
        "_rolling_extreme": [(c, p, s) for p in periods for c in (x, high) for s in (1.0, -1.0)],
        "_rules": [tuple(rng.random(n) < q for q in (0.1, 0.3, 0.1, 0.3))],
        # sessions of a day of minutes; a zero volume (a session that has not traded) included
        "_vwap": [
            ((np.arange(n, dtype=np.int64) // 1440), x * vol, vol)
            for vol in (rng.random(n) * 5.0, np.r_[0.0, rng.random(n - 1) * 5.0])
        ],
        # ADX, CCI, the stochastic, MFI (terminal.backtest.oscillators); flat: no range, no move
        "_adx": [(h, lo, c, p) for p in periods for h, lo, c in ((high, low, x), (flat, flat, flat))],
        "_cci": [(h, lo, c, p) for p in periods for h, lo, c in ((high, low, x), (flat, flat, flat))],
        "_stochastic": [
            (h, lo, c, p, k, d)
            for p in periods
            for k, d in ((1, 1), (3, 3), (2, 5))
            for h, lo, c in ((high, low, x), (flat, flat, flat))
        ],
        "_mfi": [
            (h, lo, c, vol, p)
            for p in periods
            for vol in (rng.random(n) * 5.0, np.zeros(n))
            for h, lo, c in ((high, low, x), (flat, flat, flat))
        ],
        "_supertrend": [
            (high, low, x, atr, k, state)
            for atr in (np.r_[np.full(min(n, 5), np.nan), np.abs(high - low)[5:]],)
            for k in (1.5, 3.0)
            for state in (np.full(4, np.nan), np.array([x[0] * 0.99, x[0] * 1.01, 1.0, x[0]]))
        ],
    }


def _write_trade_inputs(rng: np.random.Generator) -> list[tuple[Any, ...]]:
    cases = []
    for pos in (2.5, -0.125):
        trades = np.zeros((3, N_TRADE_COLUMNS))
        floats = rng.uniform(10.0, 20_000.0, 9)
        cases.append((trades, 1, 17.0, 42, pos, *floats[:4], np.nan, *floats[4:7], floats[7]))
    return cases


def _run_bars_inputs(rng: np.random.Generator) -> list[tuple[Any, ...]]:
    from terminal.backtest import engine
    from terminal.backtest.settings import BacktestSettings, Costs, Direction, Sizing, SizingMode, Stops

    n = int(rng.integers(2, 4_000))
    close = prices(rng, n)
    open_ = np.empty(n)
    open_[0] = close[0]
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, 0.002, n - 1))
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.004, n)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.004, n)))
    signal = rng.choice([1.0, -1.0, 0.0, np.nan, np.nan, np.nan], n)
    atr = np.abs(rng.normal(0.0, 60.0, n))
    atr[:5] = np.nan
    empty = np.empty(0)
    settings = [
        (BacktestSettings(), empty, empty),
        (
            BacktestSettings(
                costs=Costs(taker_fee=0.001, maker_fee=-0.0001, slippage_bps=3.0),
                sizing=Sizing(mode=SizingMode.RISK, risk_fraction=0.02, amount_step=0.001),
                stops=Stops(stop_loss_atr=2.0, take_profit_pct=1.5),
                close_at_end=False,
            ),
            atr * 2.0,
            empty,
        ),
        (
            BacktestSettings(
                sizing=Sizing(mode=SizingMode.QUOTE, quote_amount=3_000.0, amount_step=0.01),
                stops=Stops(stop_loss_pct=0.4, take_profit_atr=3.0),
                direction=Direction.LONG,
            ),
            empty,
            atr * 3.0,
        ),
    ]
    cases = []
    for s, stop_dist, tp_dist in settings:
        state = np.zeros(engine.N_STATE)
        state[engine.S_CASH] = s.initial_cash
        state[engine.S_STOP] = state[engine.S_TAKE_PROFIT] = np.nan
        trades = np.zeros((n + 1, N_TRADE_COLUMNS))
        outputs = [np.zeros(n) for _ in range(3)]
        common = (open_, high, low, close, signal, stop_dist, tp_dist, engine.parameters(s))
        cases.append((0, n, *common, state, trades, *outputs))
        # a second chunk continues from the state the first left: the run split in two
        cases.append(("chunks", n // 2, *common, state, trades, *outputs))
    return cases


def kernel_inputs(seed: int) -> dict[str, list[tuple[Any, ...]]]:
    rng = np.random.default_rng(seed)
    return {
        **_indicator_inputs(rng),
        "_write_trade": _write_trade_inputs(rng),
        "run_bars": _run_bars_inputs(rng),
    }


def call(fn: Callable[..., Any], args: tuple[Any, ...]) -> list[Any]:
    """What ``fn`` returns and every array it writes to, on copies of ``args``."""
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    if isinstance(args[0], str):  # "chunks": run_bars in two chunks over the same arrays
        middle, rest = args[1], args[2:]
        fn(0, middle, *rest)
        fn(middle, len(rest[0]), *rest)
    else:
        out = fn(*args)
        if out is not None:
            return [out, *[a for a in args if isinstance(a, np.ndarray)]]
    return [a for a in args if isinstance(a, np.ndarray)]


def test_every_kernel_is_covered_and_exported() -> None:
    kernels = aot_kernels.load_kernels()
    assert set(kernel_inputs(0)) == set(kernels), "a kernel without inputs in this test"
    assert {"run_bars", "_sma", "_rules"} <= set(kernels)
    assert aot_kernels.AOT_MODULE == jit.AOT_MODULE


def test_the_module_exports_every_kernel_under_its_name(aot: ModuleType) -> None:
    names = {n for n in dir(aot) if not n.startswith("__")}
    assert set(aot_kernels.load_kernels()) <= names


@pytest.mark.parametrize("seed", range(6))
def test_each_kernel_gives_the_jits_numbers_bit_for_bit(aot: ModuleType, seed: int) -> None:
    kernels = aot_kernels.load_kernels()
    for name, cases in kernel_inputs(seed).items():
        kernel = kernels[name]
        jitted = getattr(sys.modules[kernel.module], name)
        assert hasattr(jitted, "signatures"), f"{name} is not numba's dispatcher here"
        for args in cases:
            expected = call(jitted, args)
            got = call(getattr(aot, name), args)
            assert len(got) == len(expected)
            for e, g in zip(expected, got, strict=True):
                assert g.dtype == e.dtype and g.shape == e.shape, name
                # bit for bit, NaNs included (array_equal would call two NaNs different)
                assert e.tobytes() == g.tobytes(), f"{name} (seed {seed}) differs: {e!r} vs {g!r}"


def test_signatures_mean_to_the_guard_what_they_mean_to_numba() -> None:
    from numba import types
    from numba.core import sigutils

    for kernel in aot_kernels.load_kernels().values():
        numba_args, numba_return = sigutils.normalize_signature(kernel.signature)
        args, returns = jit.parse_signature(kernel.signature)
        for ours, theirs in zip([*args, returns], [*numba_args, numba_return], strict=True):
            if isinstance(theirs, types.Array):
                assert isinstance(ours, jit.ArrayArg), kernel.name
                assert ours.dtype == np.dtype(str(theirs.dtype)), kernel.name
                assert (ours.ndim, theirs.layout) == (theirs.ndim, "C"), kernel.name
            elif theirs == types.void:
                assert ours is None
            else:
                assert ours == np.dtype(str(theirs)), kernel.name


def test_a_signature_outside_the_kernels_types_is_refused() -> None:
    for bad in ("float32[::1](float64[::1])", "float64[:](float64[:])", "float64[::1]", "int64(x)"):
        with pytest.raises(ValueError, match=r"signature|type"):
            jit.parse_signature(bad)


#: x86-64 instructions beyond the baseline (SSE2) that LLVM would use for a newer CPU:
#: AVX (VEX-encoded, ymm/zmm registers), SSE3/SSSE3/SSE4, BMI, POPCNT, MOVBE
BEYOND_BASELINE = re.compile(
    r"v[a-z0-9]+|round[sp][sd]|pshufb|ptest|pblend\w*|blendv?p[sd]|popcnt|lzcnt|tzcnt|crc32|pmulld"
    r"|pmin[su][bwd]|pmax[su][bwd]|pextr[bdq]|pinsr[bdq]|movbe|andn|bextr|shlx|shrx|sarx|rorx|mulx"
    r"|pdep|pext|pabs[bwd]|palignr|dpp[sd]|insertps|extractps|pcmpeqq|pcmpgtq|pmov[sz]x\w*"
    r"|pcmp[ei]str[im]|lddqu|movddup|h(add|sub)p[sd]|addsubp[sd]|packusdw"
)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="checks x86-64 machine code")
@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump (binutils)")
def test_the_module_runs_on_any_x86_64_cpu(aot_path: Path) -> None:
    """Compiled for the x86-64 baseline: no instruction a 2003 x86-64 CPU lacks
    (numba's JIT, by contrast, compiles for the CPU it runs on)."""
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(aot_path)], capture_output=True, text=True, check=True
    ).stdout
    mnemonics = [line.split("\t")[1].split()[0] for line in listing.splitlines() if line.count("\t") >= 1]
    assert len(mnemonics) > 5_000
    newer = sorted({m for m in mnemonics if BEYOND_BASELINE.fullmatch(m)})
    assert not newer, f"instructions beyond the x86-64 baseline: {newer}"


# -- whole backtests, through the runner ------------------------------------------------
CASES = """
def run_cases():
    import numpy as np
    from terminal.backtest.runner import run_backtest
    from terminal.backtest.settings import BacktestSettings, Costs, Direction, Sizing, SizingMode, Stops
    from terminal.backtest.strategies import BUILTIN
    from terminal.marketdata.candles import OHLCV

    rng = np.random.default_rng(7)
    n = 6_000
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1] * np.exp(rng.normal(0.0, 0.005, n - 1))])
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.004, n)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.004, n)))
    candles = OHLCV(1_700_000_000_000 + 60_000 * np.arange(n, dtype=np.int64), open_, high, low, close,
                    np.ones(n))
    settings = [
        BacktestSettings(),
        BacktestSettings(costs=Costs(taker_fee=0.002, maker_fee=0.002), sizing=Sizing(amount_step=1.0)),
        BacktestSettings(
            costs=Costs(taker_fee=0.001, maker_fee=-0.0001, slippage_bps=5.0),
            sizing=Sizing(mode=SizingMode.RISK, risk_fraction=0.01, amount_step=0.001),
            stops=Stops(stop_loss_atr=2.0, take_profit_atr=4.0, atr_period=10),
            direction=Direction.LONG,
            close_at_end=False,
        ),
        BacktestSettings(
            sizing=Sizing(mode=SizingMode.QUOTE, quote_amount=2_500.0),
            stops=Stops(stop_loss_pct=1.0, take_profit_pct=2.0),
            direction=Direction.SHORT,
        ),
    ]
    return [run_backtest(candles, name, None, s) for name in sorted(BUILTIN) for s in settings]
"""


def test_run_backtest_through_the_aot_module_matches_numba(aot_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.pickle"
    child = run_python(
        f"""
        import pickle, sys
        sys.path.insert(0, {str(SCRIPT.parent)!r})
        import aot_kernels
        from pathlib import Path
        aot_kernels.use_module(Path(sys.argv[1]))
        from terminal.backtest import jit
        assert jit.MODE == "aot", jit.MODE
        {textwrap.indent(CASES, "        ").strip()}
        results = run_cases()
        assert "numba" not in {{m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}}
        Path(sys.argv[2]).write_bytes(pickle.dumps(results))
        """,
        str(aot_path),
        str(out),
    )
    assert child.returncode == 0, child.stdout + child.stderr
    through_aot = pickle.loads(out.read_bytes())
    namespace: dict[str, Any] = {}
    exec(CASES, namespace)  # the same cases, here: numba's JIT
    through_numba = namespace["run_cases"]()
    assert jit.MODE == "numba"
    assert len(through_aot) == len(through_numba) == 28
    trades = 0
    for a, b in zip(through_aot, through_numba, strict=True):
        assert (a.strategy, a.settings) == (b.strategy, b.settings)
        for field in ("equity", "position", "cash", "drawdown"):
            assert getattr(a, field).tobytes() == getattr(b, field).tobytes(), (a.strategy, field)
        assert a.trades.tobytes() == b.trades.tobytes(), a.strategy
        assert a.open_trade.tobytes() == b.open_trade.tobytes(), a.strategy
        assert a.final_equity == b.final_equity
        trades += len(a.trades)
    assert trades > 1_000  # the cases trade, in every direction and with every kind of exit
    assert any(len(r.open_trade) for r in through_aot)


def test_from_source_every_call_site_passes_the_declared_types() -> None:
    """The ahead-of-time module has only the declared signature: after the
    warm-up and every built-in strategy under varied settings through the JIT,
    numba compiled each kernel for exactly that signature and no other."""
    child = run_python(
        f"""
        from numba.core import sigutils
        from terminal.backtest import jit, warmup
        warmup.warm_up()
        {textwrap.indent(CASES, "        ").strip()}
        run_cases()
        for kernel in jit.KERNELS.values():
            declared = sigutils.normalize_signature(kernel.signature)[0]
            dispatcher = getattr(__import__(kernel.module, fromlist=["_"]), kernel.name)
            assert dispatcher.signatures, kernel.name + " was not called"
            for used in dispatcher.signatures:
                assert tuple(used) == tuple(declared), (kernel.name, used, declared)
        print(len(jit.KERNELS))
        """
    )
    assert child.returncode == 0, child.stdout + child.stderr
    assert int(child.stdout.split()[-1]) >= 9


def test_the_aot_kernels_release_the_gil_and_check_their_arguments(aot_path: Path) -> None:
    child = run_python(
        f"""
        import sys, threading, time
        sys.path.insert(0, {str(SCRIPT.parent)!r})
        import aot_kernels
        from pathlib import Path
        aot_kernels.use_module(Path(sys.argv[1]))
        import numpy as np
        from terminal.backtest import indicators

        x = np.random.default_rng(1).random(20_000_000)
        done = threading.Event()
        took = []

        def work():
            t = time.perf_counter()
            indicators._rolling_std(x, 50)
            took.append(time.perf_counter() - t)
            done.set()

        thread = threading.Thread(target=work)
        ticks = [time.perf_counter()]
        thread.start()
        while not done.is_set():  # this thread runs Python while the kernel runs, or waits for the GIL
            ticks.append(time.perf_counter())
        thread.join()
        gap = max(np.diff(ticks))
        print(f"kernel {{took[0]:.3f}} s, longest pause of this thread {{gap:.4f}} s, {{len(ticks)}} ticks")
        assert took[0] > 0.05 and gap < took[0] / 3, (took, gap)

        for bad in (np.arange(10), np.ones(20)[::2], np.ones((2, 5))):
            try:
                indicators._sma(bad, 3)
            except TypeError as exc:
                assert "_sma: argument 1 must be a C-contiguous 1-d float64 array" in str(exc), exc
            else:
                raise AssertionError(f"_sma took {{bad!r}}")
        assert indicators.sma(np.arange(10), 3)[2] == 1.0  # the public functions convert first
        """,
        str(aot_path),
    )
    assert child.returncode == 0, child.stdout + child.stderr


def test_without_numba_or_the_aot_module_a_backtest_says_what_is_missing() -> None:
    child = run_python(
        """
        import sys
        sys.modules["numba"] = None  # not installed
        sys.modules["terminal.backtest._kernels_aot"] = None  # not built
        import numpy as np
        from terminal.backtest import jit
        from terminal.backtest.errors import BacktestError
        from terminal.backtest.runner import run_backtest
        from terminal.marketdata.candles import OHLCV
        assert jit.MODE == "missing"
        n = 100
        c = np.linspace(100.0, 120.0, n)
        candles = OHLCV(np.arange(n, dtype=np.int64) * 60_000, c, c + 1, c - 1, c, np.ones(n))
        try:
            run_backtest(candles, "sma_cross")
        except BacktestError as exc:
            print(exc)
        else:
            raise AssertionError("the backtest ran")
        """
    )
    assert child.returncode == 0, child.stdout + child.stderr
    # (the runner reports it as the strategy's failure: its indicators are the first kernel called)
    message = child.stdout.strip()
    assert "The backtest engine is not available in this installation: numba is not installed" in message
    assert "and the ahead-of-time compiled kernels are missing" in message
