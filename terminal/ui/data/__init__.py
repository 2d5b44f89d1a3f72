"""The market data manager and its dialogs: stored series, downloads, CSV
import and export, gaps, the history file's problem bar, and the sync
indicator in the status bar."""
