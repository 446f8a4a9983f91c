"""Tables of the triggers plugin (prefix ``triggers_``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import UTCDateTime, db, utcnow


class Rule(db.Model):
    """A stored rule: on ``events``, when ``conditions`` hold, run ``actions`` in order.

    ``events`` is a list of ``{"kind": ..., options}``; ``conditions`` a tree of
    ``{"all": [...]}`` / ``{"any": [...]}`` / ``{"not": ...}`` groups whose leaves are
    ``{"field", "op", "value"}`` or ``{"condition", "params"}``; ``actions`` a list
    of ``{"action", "params"}``. Rules run by ``(position, id)``."""

    __tablename__ = "triggers_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    events: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=100)
    stop_processing: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def via(self) -> str:
        return f"rule:{self.name}"

    def __repr__(self) -> str:
        return f"<Rule {self.id} {self.name!r}>"


class Run(db.Model):
    """What a rule did for one event on one ticket, for the admin's log.

    ``outcome``: ``ok`` (every action done), ``partial`` (some failed and were
    undone alone), ``failed`` (all failed), ``depth_limit`` (a chain of rules was
    too deep: not run), ``budget_limit`` (the chain of rules one change set off
    spent its action budget: not run), ``error`` (a condition raised: not run). Rules whose
    conditions did not hold leave no row."""

    __tablename__ = "triggers_runs"
    __table_args__ = (Index("ix_triggers_runs_rule_id_id", "rule_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("triggers_rules.id", ondelete="SET NULL")
    )
    rule_name: Mapped[str] = mapped_column(String(200))
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_events.id", ondelete="CASCADE"), index=True
    )
    event_kind: Mapped[str] = mapped_column(String(64))
    matched: Mapped[bool] = mapped_column(Boolean, default=True)
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class TimerFire(db.Model):
    """A time-based rule fired for one ticket at one occurrence, so it never
    fires twice for it. ``marker`` is the deadline (``deadline_passed``) or the
    moment the ticket entered its status (``time_in_status``): a new deadline or
    a new status is a new occurrence."""

    __tablename__ = "triggers_timer_fires"
    __table_args__ = (UniqueConstraint("rule_id", "ticket_id", "marker"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("triggers_rules.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    marker: Mapped[datetime] = mapped_column(UTCDateTime())
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_events.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RoundRobin(db.Model):
    """Who got the last ticket of a pool (``role:<key>``); read and written under a
    row lock in the assigning transaction, so every process takes turns fairly."""

    __tablename__ = "triggers_round_robin"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_user_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Meta(db.Model):
    """Small state of the plugin: ``rules_stamp`` changes with every change to
    the rules, so each process knows when its compiled rules are stale."""

    __tablename__ = "triggers_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
