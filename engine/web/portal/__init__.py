"""Pages of the applicants' portal (网上办事大厅, /portal), the front window (一窗受理, /window), document downloads
(/documents) and the public verification of permits and notices (/verify). engine/web/__init__.py registers them;
their access rules are in engine/auth/routes.py like every other page's."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from engine.web.portal import applicant_views, document_views, window_views

    for module in (applicant_views, window_views, document_views):
        app.register_blueprint(module.bp)
