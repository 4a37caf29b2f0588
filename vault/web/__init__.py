"""The web UI: server-rendered pages, encryption in the browser, in English, Russian and Kyrgyz.

init_app() is called by vault.app.create_app before the API's access check is
installed (the cookie hook must run first). See docs/web.md.
"""

from __future__ import annotations

from flask import Flask, request

CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; img-src 'self' blob: data:; media-src 'self' blob:; frame-src blob:; "
       "form-action 'self'; connect-src 'self'; worker-src 'self'; style-src 'self'")


def init_app(app: Flask) -> None:
    from vault.web import assets, field, session
    from vault.web.i18n import init_babel
    from vault.web.views import bp

    session.install(app)
    init_babel(app)
    app.register_blueprint(bp)
    app.register_blueprint(field.bp)  # /field (the offline capture app), its manifest
    assets.init_app(app)  # /assets/ (hashed, precompressed bundles), /sw.js, asset() for templates
    app.jinja_env.autoescape = True

    @app.after_request
    def _web_headers(resp):
        if not request.path.startswith("/api/"):
            resp.headers["Content-Security-Policy"] = CSP
            resp.headers["X-Frame-Options"] = "DENY"
            resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
            resp.headers["Permissions-Policy"] = "geolocation=(self), microphone=(self), camera=(self)"
        return resp
