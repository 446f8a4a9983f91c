"""Personal API tokens of the calling user."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from kernel.services import tokens
from web.api import schemas as s
from web.api.auth import current_user, require_token

blp = Blueprint("api_tokens", __name__, url_prefix="/tokens",
                description="Your personal API tokens.")


@blp.route("")
class Tokens(MethodView):
    @blp.response(200, s.TokenOut(many=True))
    @require_token
    def get(self):
        return tokens.for_user(current_user())

    @blp.arguments(s.TokenIn)
    @blp.response(201, s.TokenCreated)
    @require_token
    def post(self, data):
        """Create another token for yourself; the secret is in the answer only."""
        row, secret = tokens.create(current_user(), data["name"], actor=current_user())
        return {"id": row.id, "name": row.name, "prefix": row.prefix,
                "created_at": row.created_at, "last_used_at": row.last_used_at,
                "revoked_at": row.revoked_at, "token": secret}


@blp.route("/<int:token_id>")
class TokenItem(MethodView):
    @blp.response(200, s.TokenOut)
    @require_token
    def delete(self, token_id):
        """Revoke a token; it stops working at once."""
        return tokens.revoke(token_id, current_user())
