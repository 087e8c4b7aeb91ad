"""Social sign-in (Google by OpenID Connect, Facebook by OAuth 2) under /auth/oauth."""

from flask import Blueprint

bp = Blueprint("oauth", __name__, url_prefix="/auth/oauth")


@bp.app_template_global("social_providers")
def social_providers():
    """The configured providers, for templates/auth/_social_buttons.html."""
    from app.oauth.providers import configured_providers

    return configured_providers()


from app.oauth import routes  # noqa: E402,F401
