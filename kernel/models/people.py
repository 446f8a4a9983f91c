"""People: staff and portal accounts (users), their roles, and customers."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from kernel.db import UTCDateTime, db, utcnow

user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(db.Model):
    """A named set of permission keys. Permission keys are declared in code by the
    kernel and plugins (``hookdesk_register_permissions``); a role stores the keys
    it grants, so a role survives a plugin being disabled and re-enabled."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)

    def grants(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


class User(db.Model):
    """Anyone who logs in: an agent (staff) or a customer's portal account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Part of every session id and remember-me cookie: renewing it (log out, sign
    # out everywhere, deactivation) ends every session of the account at once.
    session_token: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="agent")  # agent | customer
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    locale: Mapped[str] = mapped_column(String(8), default="ru")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    page_size: Mapped[int] = mapped_column(Integer, default=20)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")
    customer: Mapped[Customer | None] = relationship(back_populates="accounts")

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"

    @property
    def is_customer(self) -> bool:
        return self.kind == "customer"

    # The login protocol of Flask-Login (plain attributes: the kernel imports no web
    # code). The id carries a stamp of the password hash and of ``session_token``:
    # changing the password or renewing the token (``kernel.services.users.
    # end_sessions``) ends every session and remember-me cookie of the account.
    is_authenticated = True
    is_anonymous = False

    @property
    def password_stamp(self) -> str:
        """Changes with the password: spends e-mailed password links."""
        return hashlib.sha256((self.password_hash or "-").encode()).hexdigest()[:16]

    @property
    def session_stamp(self) -> str:
        """Changes with the password and with ``session_token``."""
        raw = f"{self.password_hash or '-'}|{self.session_token or ''}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def renew_session_token(self) -> None:
        """End every session of this account (the caller commits)."""
        self.session_token = secrets.token_hex(16)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_stamp}"

    def set_password(self, password: str) -> None:
        from flask import current_app, has_app_context

        method = "scrypt"
        if has_app_context():
            method = current_app.config.get("HOOKDESK_PASSWORD_HASH") or method
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.kind}>"


class Customer(db.Model):
    """The person outside: buyer, client. May own portal accounts (``accounts``)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contract_number: Mapped[str | None] = mapped_column(String(100), index=True)
    note: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin",
        order_by="CustomerPhone.id",
    )
    emails: Mapped[list[CustomerEmail]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin",
        order_by="CustomerEmail.id",
    )
    accounts: Mapped[list[User]] = relationship(back_populates="customer")

    def __repr__(self) -> str:
        return f"<Customer {self.id} {self.name}>"


class CustomerPhone(db.Model):
    """A phone in E.164 (``number``) with what the person typed (``raw``)."""

    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    number: Mapped[str] = mapped_column(String(20), index=True)
    raw: Mapped[str] = mapped_column(String(64), default="")
    label: Mapped[str] = mapped_column(String(64), default="")

    customer: Mapped[Customer] = relationship(back_populates="phones")


class CustomerEmail(db.Model):
    __tablename__ = "customer_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)

    customer: Mapped[Customer] = relationship(back_populates="emails")
