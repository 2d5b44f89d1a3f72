"""A desktop trading terminal for crypto markets."""

__version__ = "0.1.0"
APP_NAME = "Terminal"
