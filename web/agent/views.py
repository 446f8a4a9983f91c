"""Agent workspace pages: each module registers its routes on ``bp``."""

from __future__ import annotations

from web.agent import board, card, create, table  # noqa: F401
