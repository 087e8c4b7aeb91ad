"""/api/docs: the interactive reference (Swagger UI, vendored under static/vendor: `make vendor`)."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

SWAGGER_UI_VERSION = "5.36.0"  # the Makefile's SWAGGER_UI_VERSION

bp = Blueprint("api_docs", __name__)


@bp.get("/api/docs")
def docs() -> str:
    return render_template(
        "api/docs.html", spec_url=url_for("api-docs.openapi_json"), swagger_version=SWAGGER_UI_VERSION
    )
