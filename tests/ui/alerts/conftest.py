"""Fixtures of the alerts' UI tests: a real notification service on the private session bus."""

from tests.alerts.notification_daemon import notification_daemon  # noqa: F401 - the fixture, for this folder
