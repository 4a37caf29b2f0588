"""The JSON API under /api/v1: one blueprint per area, deny by default (security.py)."""
