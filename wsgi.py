"""`gunicorn wsgi:app` from the repository root (VAULT_DATA names the data folder)."""

from vault.wsgi import app

__all__ = ["app"]
