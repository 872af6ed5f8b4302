"""Helpers for the tests that are not tests themselves (builders of third-party code)."""
