"""Regenerates docs/images/preferences.png: the Preferences dialog's Watchlist tab
and its Risk limits tab with a refused value, side by side (dark theme).

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_preferences.py [OUT.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from terminal.ui import pin_qt_binding  # noqa: E402

pin_qt_binding()

from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialogButtonBox  # noqa: E402

from terminal.config import ConfigStore  # noqa: E402
from terminal.market.simulator.instruments import INSTRUMENTS  # noqa: E402
from terminal.ui.preferences.dialog import PreferencesDialog  # noqa: E402
from terminal.ui.theme import DARK, apply_theme  # noqa: E402

CONFIG = """
watchlist = ["BTC/USDT", "ETH/USDT", "DOGE/USDT", "SOL/USDT", "BNB/USDT"]

[[accounts]]
name = "binance-main"
exchange = "binance"
"""


def main(out: Path) -> None:
    app = QApplication(sys.argv)
    apply_theme(app, DARK)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_text(CONFIG, encoding="utf-8")
        config = ConfigStore(path)
        markets = {instrument.symbol: {} for instrument in INSTRUMENTS}
        dialog = PreferencesDialog(config, markets, "Simulated", DARK)
        dialog.show()
        page = dialog.watchlist
        dialog.tabs.setCurrentWidget(page)
        page.list.setCurrentRow(3)
        page.symbol.setText("ADA/USDT")
        page.add()  # not listed: the message under the field
        app.processEvents()
        left = dialog.grab().toImage()

        page.symbol.setText("XRP/USDT")
        page.add()
        dialog.risk.field("paper", "max_order_notional").setText("2500")
        dialog.risk.field("paper", "price_band_pct").setText("-1")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Apply).click()  # refused: stays open
        app.processEvents()
        right = dialog.grab().toImage()

    gap = 16
    image = QImage(
        left.width() + gap + right.width(), max(left.height(), right.height()), QImage.Format.Format_RGB32
    )
    image.fill(DARK.background)
    painter = QPainter(image)
    painter.drawImage(0, 0, left)
    painter.drawImage(left.width() + gap, 0, right)
    painter.end()
    image.save(str(out))
    print(f"wrote {out} ({image.width()}x{image.height()})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "preferences.png")
