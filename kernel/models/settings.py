"""Live deployment settings (default ticket type, per-plugin options)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import db


class Setting(db.Model):
    """One option, keyed ``<namespace>.<name>``; plugins use their own name as namespace."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any | None] = mapped_column(JSON)
