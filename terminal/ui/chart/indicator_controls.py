"""Where the user adds, edits and removes a chart's indicators: the Indicators menu,
the command palette's entries ("RSI 14", or any parameters typed: "RSI 21"), the
legend's settings dialog, templates, and the chart's saved set.

It acts on the window's active chart (``studies()``: its ``ChartStudies``) and tells
the window through ``post`` (a message for the status bar and the log). Keeping each
chart's set is the window's (``ChartStudies.changed``, ``saved_text``, ``restore``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QInputDialog, QMenu, QWidget

from terminal.analysis.catalogue import IndicatorSpec, UnknownIndicatorError, all_specs, parse, spec_for
from terminal.analysis.setup import IndicatorConfig, TemplateError, Templates, dump, load_keeping
from terminal.errors import TerminalError
from terminal.ui.chart.indicator_dialog import IndicatorDialog
from terminal.ui.chart.studies import ChartStudies
from terminal.ui.window.palette import PaletteEntry

Post = Callable[..., None]


class IndicatorControls(QObject):
    def __init__(
        self,
        studies: Callable[[], ChartStudies],
        templates: Templates,
        parent: QWidget,
        post: Post,
        reload: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self._reload = reload  # the user's own indicators looked for again
        self._studies = studies
        self.templates = templates
        self.parent_widget = parent
        self.post = post
        self.menu = QMenu("&Indicators", parent)
        self.menu.aboutToShow.connect(self._fill_menu)

    @property
    def studies(self) -> ChartStudies:
        """The active chart's."""
        return self._studies()

    def attach(self, studies: ChartStudies) -> None:
        """A chart's legend buttons open the settings of its own indicators."""
        studies.edit_requested.connect(lambda study_id: self.edit(study_id, studies))

    # -- the set -------------------------------------------------------------------
    def add(self, spec: IndicatorSpec, params: dict[str, float | int] | None = None) -> None:
        config = IndicatorConfig.new(spec, params)
        try:
            self.studies.add(config)
        except TerminalError as exc:  # a user's indicator that failed: the chart stays as it was
            self.post(f"Cannot add {config.label}: {exc.user_message()}", bad=True)
            return
        self.post(f"Added {config.label} ({spec.title}).")

    def add_text(self, text: str) -> bool:
        """What the user typed ("RSI 21"); a message says what is wrong when it cannot be added."""
        try:
            request = parse(text)
        except ValueError as exc:
            self.post(f"Cannot add {text.strip()!r}: {exc}.", bad=True)
            return False
        self.add(request.spec, request.params)
        return True

    def edit(self, study_id: int, studies: ChartStudies | None = None) -> None:
        studies = studies or self.studies
        study = studies.find(study_id)
        if study is None:
            return
        dialog = IndicatorDialog(study.config, self.parent_widget)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            config = dialog.result_config()
            try:
                studies.replace(study_id, config)
            except TerminalError as exc:  # the old settings stay drawn
                self.post(f"{config.label} not applied: {exc.user_message()}", bad=True)

    def remove_all(self) -> None:
        """The active chart's own indicators, those waiting for their file too (a backtest's stay)."""
        self.studies.waiting = []
        self.studies.set_configs([])

    def restore(self, studies: ChartStudies, text: str | None) -> None:
        """A chart's saved indicators (``saved_text``'s); what cannot load is said, the rest is
        shown, and one not known yet (a user's whose file has not loaded) is kept for later."""
        configs, problems, waiting = load_keeping(text)
        studies.set_configs([])
        for config in configs:
            self._add_quietly(studies, config)
        studies.waiting = list(waiting)
        for problem in problems:
            self.post(problem[0].upper() + problem[1:] + ".", bad=True)

    def retry_waiting(self, studies: ChartStudies) -> None:
        """The user's indicators loaded (again): the saved ones that were waiting for them."""
        waiting, studies.waiting = studies.waiting, []
        for raw in waiting:
            try:
                config = IndicatorConfig.from_dict(raw)
            except UnknownIndicatorError:
                studies.waiting.append(raw)  # still not there: kept
                continue
            except ValueError as exc:
                self.post(f"A saved indicator was left out: {exc}.", bad=True)
                continue
            if not self._add_quietly(studies, config):
                studies.waiting.append(raw)  # kept: tried again at the next load

    def _add_quietly(self, studies: ChartStudies, config: IndicatorConfig) -> bool:
        try:
            studies.add(config)
        except TerminalError as exc:
            self.post(f"{config.label} was not drawn: {exc.user_message()}", bad=True)
            return False
        return True

    @staticmethod
    def saved_text(studies: ChartStudies) -> str:
        return dump(studies.configs(), studies.waiting)

    # -- templates -----------------------------------------------------------------
    def save_template(self, name: str | None = None) -> None:
        if name is None:
            name, ok = QInputDialog.getText(self.parent_widget, "Save indicator template", "Template name:")
            if not ok:
                return
        try:
            self.templates.save(name, self.studies.configs())
        except TemplateError as exc:
            self.post(f"Template not saved: {exc}.", bad=True)
            return
        self.post(
            f"Saved the chart's {len(self.studies.configs())} indicator(s) as template {name.strip()!r}."
        )

    def apply_template(self, name: str) -> None:
        """The template's indicators replace the chart's."""
        templates = self._read_templates()
        if name not in templates:
            self.post(f"There is no template {name!r}.", bad=True)
            return
        self.studies.set_configs([])
        self.studies.waiting = []  # the chart is the template's now
        for config in templates[name]:
            self._add_quietly(self.studies, config)
        self.post(f"Applied template {name!r}: {', '.join(c.label for c in templates[name])}.")

    def delete_template(self, name: str) -> None:
        try:
            self.templates.delete(name)
        except TemplateError as exc:
            self.post(str(exc), bad=True)
            return
        self.post(f"Deleted template {name!r}.")

    def _read_templates(self) -> dict[str, list[IndicatorConfig]]:
        try:
            return self.templates.read()
        except TemplateError as exc:
            self.post(f"{exc}.", bad=True)
            return {}

    # -- menu and palette ------------------------------------------------------------
    def _fill_menu(self) -> None:
        menu = self.menu
        menu.clear()
        if self._reload is not None:
            self._reload()  # for the next time: a file just written is loaded meanwhile
        for title, pane in (("Add over the price", False), ("Add in a pane", True)):
            sub = menu.addMenu(title)
            for spec in all_specs():
                if spec.pane == pane:
                    defaults = spec.defaults()
                    action = sub.addAction(f"{spec.label(defaults)}    {spec.title}")
                    action.triggered.connect(lambda _=False, s=spec: self.add(s))
        if self.studies.studies:
            menu.addSeparator()
            for study in self.studies.studies:
                sub = menu.addMenu(study.config.label)
                sub.addAction("Settings…").triggered.connect(lambda _=False, i=study.id: self.edit(i))
                sub.addAction("Remove").triggered.connect(lambda _=False, i=study.id: self.studies.remove(i))
            menu.addAction("Remove all indicators").triggered.connect(self.remove_all)
        menu.addSeparator()
        templates = self._read_templates()
        if self._reload is not None:
            reload = self._reload
            menu.addAction("Reload my indicators (strategies folder)").triggered.connect(lambda: reload())
        save = menu.addAction("Save as template…")
        save.setEnabled(bool(self.studies.studies))
        save.triggered.connect(lambda: self.save_template())
        if templates:
            apply_menu = menu.addMenu("Apply template")
            delete_menu = menu.addMenu("Delete template")
            for name, configs in templates.items():
                label = f"{name}    {', '.join(c.label for c in configs)}"
                apply_menu.addAction(label).triggered.connect(lambda _=False, n=name: self.apply_template(n))
                delete_menu.addAction(name).triggered.connect(lambda _=False, n=name: self.delete_template(n))

    def menu_action(self) -> QAction:
        return self.menu.menuAction()

    def palette_entries(self) -> list[PaletteEntry]:
        entries = []
        for spec in all_specs():
            label = spec.label(spec.defaults())
            entries.append(PaletteEntry(label, f"add indicator: {spec.title}", partial(self.add, spec)))
        for name in self._read_templates():
            entries.append(
                PaletteEntry(f"Indicator template {name}", "apply", partial(self.apply_template, name))
            )
        return entries

    def palette_typed(self, text: str) -> list[PaletteEntry]:
        """An entry for exactly what was typed when it names an indicator with numbers
        ("RSI 21", "BB 20 2.5"), or one that says why it cannot be added."""
        words = text.split()
        if len(words) < 2:
            return []
        try:
            spec = spec_for(words[0])
        except ValueError:
            return []
        try:
            request = parse(text)
        except ValueError as exc:
            return [PaletteEntry(f"{text.strip()}: {exc}", "cannot add", lambda: self.add_text(text))]
        label = request.spec.label(request.params)
        return [
            PaletteEntry(
                label, f"add indicator: {spec.title}", lambda: self.add(request.spec, request.params)
            )
        ]
