"""The WSGI entry point used by `vault server run` (gunicorn vault.wsgi:app)."""

from vault.app import create_app

app = create_app()
