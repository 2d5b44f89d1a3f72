"""The alert dialog: each kind's alert built from what the user types; what pydantic or
the condition parser refuses shown under the field, in plain words, with the dialog
left open; an alert edited and saved unchanged is the same alert. Real widgets,
offscreen; typing with qtbot, OK pressed with the mouse."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDateTime, QPoint, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QLineEdit
from pytestqt.qtbot import QtBot

from terminal.alerts.expressions import ExpressionError, parse
from terminal.alerts.rules import (
    Alert,
    Delivery,
    Direction,
    FeedDown,
    IndicatorCondition,
    JobDone,
    LineCross,
    Move,
    OrderEvent,
    PnlBeyond,
    PriceCross,
    Sound,
    Trigger,
    VolumeSpike,
)
from terminal.ui.alerts.dialog import AlertDialog
from terminal.ui.alerts.kinds import (
    FeedPage,
    IndicatorPage,
    JobPage,
    KindPage,
    LinePage,
    MovePage,
    OrderPage,
    PnlPage,
    PricePage,
    VolumePage,
)

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
WEBHOOKS = ["telegram", "team chat"]
NOW = int(time.time() * 1000)
DAY = 86_400_000


def open_dialog(qtbot: QtBot, alert: Alert | None = None, **kwargs: Any) -> AlertDialog:
    dialog = AlertDialog("simulated", SYMBOLS, WEBHOOKS, alert, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def press_ok(qtbot: QtBot, dialog: AlertDialog) -> None:
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


def accepted(qtbot: QtBot, dialog: AlertDialog) -> Alert:
    """OK, and the alert it built (the dialog must have closed)."""
    press_ok(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted and not dialog.isVisible(), shown_errors(dialog)
    return dialog.alert()


def shown_errors(dialog: AlertDialog) -> dict[str, str]:
    found = {name: dialog.errors.text(name) for name in dialog.errors.labels}
    found |= {f"{dialog.page().kind}.{n}": dialog.page().errors.text(n) for n in dialog.page().errors.labels}
    return {name: text for name, text in found.items() if text}


def choose(box: QComboBox, data: str) -> None:
    index = box.findData(data)
    if index < 0:
        index = box.findText(data)
    assert index >= 0, f"{data!r} is not offered"
    box.setCurrentIndex(index)


def page[P: KindPage](dialog: AlertDialog, kind: type[P]) -> P:
    """The dialog's page now, which must be of ``kind``."""
    shown = dialog.page()
    assert isinstance(shown, kind), f"the page shown is {type(shown).__name__}"
    return shown


def tick(qtbot: QtBot, box: QCheckBox) -> None:
    """Click the box of a checkbox (its middle may be empty space past the label)."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def type_into(qtbot: QtBot, field: QLineEdit | QAbstractSpinBox, text: str) -> None:
    """Select what the field holds and type over it, as a user does."""
    field.setFocus()
    field.selectAll()
    if text:
        qtbot.keyClicks(field, text)
    elif isinstance(field, QLineEdit):
        field.clear()


def test_alt_a_at_the_crosshair_gives_a_price_alert_at_that_price(qtbot: QtBot) -> None:
    opened_ms = int(time.time() * 1000)
    dialog = open_dialog(qtbot, symbol="ETH/USDT", price=3_012.345678912)
    assert dialog.windowTitle() == "New alert"
    assert dialog.kind_box.currentData() == "price"
    assert page(dialog, PricePage).level.text() == "3012.3457"
    assert "line" not in [dialog.kind_box.itemData(i) for i in range(dialog.kind_box.count())]

    alert = accepted(qtbot, dialog)
    assert alert.condition == PriceCross(level=3012.3457)
    assert (alert.exchange, alert.symbol, alert.trigger, alert.enabled) == (
        "simulated", "ETH/USDT", Trigger.ONCE, True,
    )  # fmt: skip
    assert alert.delivery == Delivery()
    assert opened_ms <= alert.created_ms <= int(time.time() * 1000)


def fill_price(qtbot: QtBot, d: AlertDialog) -> None:
    type_into(qtbot, page(d, PricePage).level, "65,000.5")
    choose(page(d, PricePage).direction, "up")


def fill_move(qtbot: QtBot, d: AlertDialog) -> None:
    type_into(qtbot, page(d, MovePage).percent, "2,5")  # a decimal comma
    type_into(qtbot, page(d, MovePage).minutes, "15")
    choose(page(d, MovePage).direction, "down")


def fill_indicator(qtbot: QtBot, d: AlertDialog) -> None:
    type_into(qtbot, page(d, IndicatorPage).expression, "ema 9 crosses above EMA 21")
    choose(page(d, IndicatorPage).timeframe_box, "1h")
    choose(d.trigger_box, Trigger.ONCE_PER_BAR.value)


def fill_volume(qtbot: QtBot, d: AlertDialog) -> None:
    type_into(qtbot, page(d, VolumePage).factor, "4")
    type_into(qtbot, page(d, VolumePage).bars, "30")
    choose(page(d, VolumePage).timeframe_box, "5m")


def fill_order(qtbot: QtBot, d: AlertDialog) -> None:
    tick(qtbot, page(d, OrderPage).ticks["rejected"])
    type_into(qtbot, d.symbol_edit, "")  # any symbol
    choose(d.trigger_box, Trigger.EVERY.value)


def fill_pnl(qtbot: QtBot, d: AlertDialog) -> None:
    type_into(qtbot, page(d, PnlPage).above, "1,500")
    type_into(qtbot, page(d, PnlPage).below, "")
    page(d, PnlPage).below.insert("−200")  # pasted from a panel, with its minus sign


def fill_feed(qtbot: QtBot, d: AlertDialog) -> None:
    type_into(qtbot, page(d, FeedPage).seconds, "90")


def fill_job(qtbot: QtBot, d: AlertDialog) -> None:
    tick(qtbot, page(d, JobPage).ticks["research"])


KINDS = [
    ("price", fill_price, "BTC/USDT", PriceCross(level=65_000.5, direction=Direction.UP)),
    ("move", fill_move, "BTC/USDT", Move(percent=2.5, minutes=15, direction=Direction.DOWN)),
    ("indicator", fill_indicator, "BTC/USDT", IndicatorCondition(expression="EMA 9 crosses above EMA 21",
                                                                  timeframe="1h")),
    ("volume", fill_volume, "BTC/USDT", VolumeSpike(factor=4, bars=30, timeframe="5m")),
    ("order", fill_order, "", OrderEvent(outcomes=("filled", "cancelled"))),
    ("pnl", fill_pnl, "BTC/USDT", PnlBeyond(above=1500, below=-200)),
    ("feed", fill_feed, "", FeedDown(seconds=90)),
    ("job", fill_job, "", JobDone(jobs=("download",))),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "fill", "symbol", "condition"), KINDS, ids=[k[0] for k in KINDS])
def test_each_kind_builds_its_alert_from_what_is_typed(
    qtbot: QtBot, kind: str, fill: Any, symbol: str, condition: Any
) -> None:
    dialog = open_dialog(qtbot, symbol="BTC/USDT")
    choose(dialog.kind_box, kind)
    assert dialog.stack.currentWidget() is dialog.page()
    fill(qtbot, dialog)
    alert = accepted(qtbot, dialog)
    assert alert.condition == condition
    assert alert.symbol == symbol
    assert alert.exchange == ("" if kind == "job" else "simulated")
    if kind == "indicator":
        assert (alert.trigger, alert.timeframe) == (Trigger.ONCE_PER_BAR, "1h")  # once per its own bar


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "The price level must be a positive number, not 0."),
        ("abc", "The price level must be a number, like 65000 or 0.00123."),
        ("", "Type the price level."),
        ("-5", "The price level must be a positive number, not -5."),
    ],
)
def test_a_wrong_level_is_said_under_the_level_and_the_dialog_stays_open(
    qtbot: QtBot, typed: str, message: str
) -> None:
    dialog = open_dialog(qtbot, symbol="BTC/USDT")
    type_into(qtbot, page(dialog, PricePage).level, typed)
    press_ok(qtbot, dialog)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert shown_errors(dialog) == {"price.level": message}
    assert dialog.page().errors.labels["level"].isVisible()

    type_into(qtbot, page(dialog, PricePage).level, "64000")
    alert = accepted(qtbot, dialog)
    assert alert.condition == PriceCross(level=64_000)


def test_what_pydantic_refuses_is_said_in_plain_words_under_its_field(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, symbol="BTC/USDT")
    choose(dialog.kind_box, "volume")
    type_into(qtbot, page(dialog, VolumePage).factor, "1")
    press_ok(qtbot, dialog)
    assert shown_errors(dialog) == {
        "volume.factor": "The volume factor must be more than 1."
    }  # not "Input should be…"

    choose(dialog.kind_box, "pnl")
    press_ok(qtbot, dialog)
    assert shown_errors(dialog) == {"pnl.below": "Give a PnL to rise above, a PnL to fall below, or both."}
    type_into(qtbot, page(dialog, PnlPage).above, "100")
    type_into(qtbot, page(dialog, PnlPage).below, "200")
    press_ok(qtbot, dialog)
    assert shown_errors(dialog) == {"pnl.below": "The PnL to fall below must be under the PnL to rise above."}

    choose(dialog.kind_box, "price")
    type_into(qtbot, page(dialog, PricePage).level, "100")
    type_into(qtbot, dialog.symbol_edit, "")
    press_ok(qtbot, dialog)
    assert shown_errors(dialog) == {"symbol": "This alert needs a symbol and its market."}
    assert dialog.isVisible()


def test_a_bad_indicator_condition_shows_the_parsers_message_as_it_is_typed(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, symbol="SOL/USDT")
    choose(dialog.kind_box, "indicator")
    fields = page(dialog, IndicatorPage)
    with pytest.raises(ExpressionError) as refused:
        parse("RSX 14 > 70")
    expected = str(refused.value)

    type_into(qtbot, fields.expression, "RSX 14 > 70")
    said = fields.errors.text("expression")
    assert said == expected[:1].upper() + expected[1:]  # the parser's sentence, before OK is pressed
    assert "RSI" in said  # it names the indicators there are
    press_ok(qtbot, dialog)
    assert dialog.isVisible() and shown_errors(dialog) == {"indicator.expression": said}

    type_into(qtbot, fields.expression, "RSI 14 >")
    assert fields.errors.text("expression").startswith("Write a condition like: RSI 14 > 70")  # wrong anew
    type_into(qtbot, fields.expression, "rsi > 70")
    assert fields.errors.text("expression") == ""
    assert fields.reads_as.text() == "Reads as: RSI 14 > 70"
    alert = accepted(qtbot, dialog)
    assert alert.condition == IndicatorCondition(expression="RSI 14 > 70")


def test_delivery_expiry_and_note_go_into_the_alert(qtbot: QtBot, tmp_path: Path) -> None:
    chime = tmp_path / "chime.wav"
    chime.write_bytes(b"RIFF")
    dialog = open_dialog(qtbot, symbol="BTC/USDT", price=65_000)
    tick(qtbot, dialog.desktop)
    choose(dialog.sound_box, "file")
    assert dialog.sound_path.isVisible() and dialog.choose_sound.isVisible()
    type_into(qtbot, dialog.sound_path, str(tmp_path / "missing.ogg"))
    tick(qtbot, dialog.webhook_boxes["team chat"])
    tick(qtbot, dialog.expires)
    dialog.expiry.setDateTime(QDateTime.fromMSecsSinceEpoch(NOW - DAY))
    type_into(qtbot, dialog.note, "  take profit  ")
    press_ok(qtbot, dialog)
    assert shown_errors(dialog) == {
        "sound": f"There is no sound file at {tmp_path / 'missing.ogg'}: choose another.",
        "expires": "That time has passed: pick a later one, or untick Expires.",
    }

    type_into(qtbot, dialog.sound_path, str(chime))
    in_two_days = NOW + 2 * DAY
    dialog.expiry.setDateTime(QDateTime.fromMSecsSinceEpoch(in_two_days))
    alert = accepted(qtbot, dialog)
    assert alert.delivery == Delivery(desktop=False, sound=Sound(kind="file", path=str(chime)),
                                      webhooks=("team chat",))  # fmt: skip
    assert alert.expires_ms == in_two_days - in_two_days % 60_000  # to the minute the field shows
    assert alert.note == "take profit"


def test_a_sound_file_must_be_chosen_when_a_file_is_the_sound(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, symbol="BTC/USDT", price=65_000)
    choose(dialog.sound_box, "file")
    press_ok(qtbot, dialog)
    assert shown_errors(dialog) == {"sound": "Choose a sound file, or pick another sound."}
    choose(dialog.sound_box, "none")
    assert not dialog.sound_path.isVisible()
    assert accepted(qtbot, dialog).delivery.sound == Sound(kind="none")


def saved_alerts(tmp_path: Path) -> list[Alert]:
    chime = tmp_path / "chime.oga"
    chime.write_bytes(b"OggS")
    rich: dict[str, Any] = {
        "trigger": Trigger.ONCE_PER_BAR,
        "timeframe": "15m",
        "expires_ms": NOW + 3 * DAY + 12_345,  # not on a minute: kept to the millisecond if untouched
        "enabled": False,
        "note": "the big one",
        "delivery": Delivery(desktop=False, sound=Sound(kind="file", path=str(chime)),
                             webhooks=("telegram", "old bot")),  # "old bot" is no longer set up
        "created_ms": NOW - DAY,
    }  # fmt: skip
    market: dict[str, Any] = {"exchange": "simulated", "symbol": "ETH/USDT"}
    return [
        Alert(**market, condition=PriceCross(level=0.000123, direction=Direction.DOWN), **rich),
        Alert(
            **market, condition=Move(percent=1.25, minutes=60, direction=Direction.UP), trigger=Trigger.EVERY
        ),
        Alert(
            **market,
            condition=IndicatorCondition(expression="close outside BB 20 2", timeframe="4h"),
            timeframe="4h",
        ),
        Alert(**market, condition=VolumeSpike(factor=2.5, bars=50, timeframe="1d"), timeframe="1d"),
        Alert(exchange="simulated", condition=OrderEvent(outcomes=("rejected",)), **rich),
        Alert(**market, condition=PnlBeyond(below=-50.5)),
        Alert(exchange="simulated", condition=FeedDown(seconds=600)),
        Alert(condition=JobDone(jobs=("research",)), note="sweep done"),
        Alert(
            **market,
            condition=LineCross(
                shape="trend", t1_ms=NOW - DAY, p1=3000, t2_ms=NOW, p2=3100.5, drawing_id="d42"
            ),
            **rich,
        ),
    ]


@pytest.mark.parametrize("which", range(9), ids=lambda i: ["price", "move", "indicator", "volume", "order",
                                                           "pnl", "feed", "job", "line"][i])  # fmt: skip
def test_an_alert_opened_and_saved_unchanged_is_the_same_alert(
    qtbot: QtBot, tmp_path: Path, which: int
) -> None:
    alert = saved_alerts(tmp_path)[which]
    dialog = open_dialog(qtbot, alert)
    assert dialog.windowTitle() == "Edit alert"
    assert dialog.kind_box.currentData() == alert.condition.kind
    assert accepted(qtbot, dialog) == alert


def test_a_lines_alert_keeps_the_lines_points_and_changes_only_its_direction(
    qtbot: QtBot, tmp_path: Path
) -> None:
    alert = saved_alerts(tmp_path)[8]
    dialog = open_dialog(qtbot, alert)
    fields = page(dialog, LinePage)
    assert "trend line from 3,000" in fields.points.text() and "to 3,100.5" in fields.points.text()
    assert not dialog.symbol_box.isEnabled()  # the line is on ETH/USDT's chart
    choose(fields.direction, "down")
    edited = accepted(qtbot, dialog)
    assert isinstance(edited.condition, LineCross) and isinstance(alert.condition, LineCross)
    assert edited.condition == alert.condition.model_copy(update={"direction": Direction.DOWN})
    assert edited.id == alert.id and edited.symbol == "ETH/USDT"


def test_a_webhook_no_longer_set_up_stays_ticked_and_named_so(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = open_dialog(qtbot, saved_alerts(tmp_path)[0])
    assert list(dialog.webhook_boxes) == ["telegram", "team chat", "old bot"]
    assert dialog.webhook_boxes["old bot"].text() == "old bot (not set up)"
    assert [name for name, box in dialog.webhook_boxes.items() if box.isChecked()] == ["telegram", "old bot"]


def test_no_alert_is_taken_from_a_dialog_not_accepted(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, symbol="BTC/USDT")
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Rejected
    with pytest.raises(RuntimeError, match="not accepted"):
        dialog.alert()
