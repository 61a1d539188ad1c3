"""Verification problems with published reference solutions."""
