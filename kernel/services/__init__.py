"""The one service layer through which every change happens.

Web pages, the API, the CLI and triggers all call these functions, so
validation, history, hooks and signals happen in one place. Each public
function is a unit of work: it commits on success (or joins the caller's unit
of work) and rolls everything back on any refusal.
"""

from typing import Any


def storable(value: Any, max_length: int) -> bool:
    """Could ``value`` be in a text column of ``max_length`` at all? Lookups by a key
    from outside check this first: PostgreSQL refuses a NUL byte even in a WHERE
    clause, which would be a server error instead of "not found"."""
    return isinstance(value, str) and "\x00" not in value and len(value) <= max_length
