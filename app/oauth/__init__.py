"""Social sign-in (Google by OpenID Connect, Facebook by OAuth 2) under /auth/oauth."""

from flask import Blueprint

from app.oauth.providers import Provider, configured_providers

bp = Blueprint("oauth", __name__, url_prefix="/auth/oauth")


@bp.app_template_global("social_providers")
def social_providers() -> list[Provider]:
    """The configured providers, for templates/auth/_social_buttons.html."""
    return configured_providers()


from app.oauth import routes  # noqa: E402,F401
