"""Alerts: rules, their evaluation on live data, and their delivery."""
