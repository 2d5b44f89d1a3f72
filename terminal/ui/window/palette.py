"""The command palette (Ctrl+K): type to find a symbol or a command, Enter runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget


@dataclass(frozen=True)
class PaletteEntry:
    label: str
    detail: str
    run: Callable[[], object]


def match_score(query: str, text: str) -> int | None:
    """Rank of ``text`` for ``query`` (lower is better), None if it does not match.
    Prefix beats word start beats substring beats letters in order."""
    q, t = query.lower().replace(" ", ""), text.lower()
    if not q:
        return 3
    compact = t.replace("/", "").replace(" ", "")
    if compact.startswith(q) or t.startswith(q):
        return 0
    if any(word.startswith(q) for word in t.replace("/", " ").split()):
        return 1
    if q in compact or q in t:
        return 2
    it = iter(compact)
    return 4 if all(ch in it for ch in q) else None


class CommandPalette(QDialog):
    """``typed``: entries made from what is typed (an indicator with its numbers, "RSI 21"),
    listed first."""

    def __init__(
        self,
        entries: list[PaletteEntry],
        parent: QWidget | None = None,
        typed: Callable[[str], list[PaletteEntry]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.typed = typed
        self.setWindowTitle("Go to symbol or command")
        self.setModal(True)
        self.resize(520, 420)
        self.entries = entries
        self.query = QLineEdit(self)
        self.query.setPlaceholderText("Symbol or command… (Enter to run, Esc to close)")
        self.list = QListWidget(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.query)
        layout.addWidget(self.list)
        self.query.textChanged.connect(self._filter)
        self.query.installEventFilter(self)
        self.list.itemActivated.connect(self._run_item)
        self._filter("")

    def visible_labels(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _filter(self, text: str) -> None:
        self.list.clear()
        ranked = []
        for i, entry in enumerate(self.entries):
            score = match_score(text, entry.label)
            if score is not None:
                ranked.append((score, i, entry))
        ordered = [entry for _, _, entry in sorted(ranked, key=lambda r: (r[0], r[1]))]
        made = self.typed(text) if self.typed is not None else []
        shown = {e.label.lower() for e in made}
        for entry in made + [e for e in ordered if e.label.lower() not in shown]:
            item = QListWidgetItem(f"{entry.label}    {entry.detail}".rstrip())
            item.setData(Qt.ItemDataRole.UserRole, entry)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.query and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.list.currentItem()
                if item is not None:
                    self._run_item(item)
                return True
        return super().eventFilter(obj, event)

    def _run_item(self, item: QListWidgetItem) -> None:
        entry: PaletteEntry = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
        entry.run()
