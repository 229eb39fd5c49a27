"""Notifications to the operator through apprise URLs (issue #17)."""
