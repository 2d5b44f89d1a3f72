"""A webhook's URL holds its token: after alerts fired through it (a refusal, a retry, a
success and a failure), neither is in any file the terminal wrote (config, the history
file and its WAL, the log at DEBUG) nor in any message the window showed. The real
keyring (scripts/with-keyring), a real loopback HTTP server, a real window."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from terminal.alerts.delivery.webhooks import WebhookVault
from terminal.alerts.rules import Alert, Delivery, PriceCross, Trigger
from terminal.logs import setup_logging
from terminal.paths import AppPaths
from terminal.store.history_file import HistoryFile
from tests.alerts.http_sink import HttpSink, Reply
from tests.keyring_helpers import needs_keyring
from tests.leak_scan import Secrets, leaks_in_files, leaks_in_texts
from tests.ui.harness import Launch

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

TOKEN = "8123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"


@pytest.fixture
def history(app_paths: AppPaths) -> Iterator[HistoryFile]:
    held = HistoryFile(app_paths.data_dir / "history.sqlite")
    yield held
    held.close()


@pytest.mark.usefixtures("restore_logging")
async def test_a_webhook_url_and_its_token_are_in_no_file_and_no_message_after_alerts_fire(
    launch: Launch, app_paths: AppPaths, history: HistoryFile
) -> None:
    needs_keyring()
    setup_logging(app_paths.log_dir, "DEBUG")
    with HttpSink([Reply(503), Reply(200), Reply(404)]) as sink:
        url = sink.url(f"/bot{TOKEN}/sendMessage?chat_id=42")
        secrets = Secrets(api_key=TOKEN, secrets=(url, f"bot{TOKEN}"))
        async with launch(history_file=history) as t:
            window, center = t.window, t.window.alert_center
            window.settled.set()
            await t.until(lambda: center.loaded.is_set(), "the alerts loaded")
            vault = WebhookVault(window.credentials)
            await asyncio.to_thread(lambda: vault.save("team", url))  # as Preferences ▸ Alerts ▸ Add… does
            window.config.change(alerts=window.settings.alerts.model_copy(update={"webhooks": ["team"]}))
            shown: list[str] = []
            window.messages.subscribe(lambda message: shown.append(message.text))

            symbol = t.session.symbol
            alert = Alert(
                exchange=window.exchange, symbol=symbol, condition=PriceCross(level=1_000_000.0),
                trigger=Trigger.EVERY, delivery=Delivery(desktop=False, webhooks=("team",)),
            )  # fmt: skip
            center.put(alert)
            feed = center.engine

            def cross(up: bool) -> None:
                now = window.session.source.milliseconds() + 10_000
                feed.price(window.exchange, symbol, 999_000.0 if up else 1_001_000.0, now)
                feed.price(window.exchange, symbol, 1_001_000.0 if up else 999_000.0, now + 1)

            cross(up=True)  # fires: 503, then retried: 200
            await t.until(lambda: len(sink.received) >= 2, "the webhook posted twice (a retry)", 20)
            cross(up=False)  # fires again: 404, refused at once
            await t.until(lambda: len(sink.received) >= 3, "the third post")
            await t.until(lambda: any("Webhook team" in text for text in shown), "the refusal said")
            assert sink.received[1].json()["text"].startswith(f"{symbol}: up through 1,000,000")
            assert len(center.history) == 2
            await t.until(lambda: not center._tasks, "the firings saved")
            texts = [*shown, *(line.text for line in t.window.log_panel.buffer.since(0))]
        assert leaks_in_texts(texts, secrets) == []
        assert leaks_in_files(app_paths.config_dir, secrets) == []
        assert leaks_in_files(app_paths.data_dir, secrets) == []  # the history file, its WAL, the log
        log_text = "".join(p.read_text(errors="replace") for p in app_paths.log_dir.glob("*.log*"))
        assert "Webhook team" in log_text  # the log did record what happened, in its own words
