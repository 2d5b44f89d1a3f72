"""Delivering fired alerts: the desktop, sound, webhooks."""
