"""Fixtures of the customer cabinet's tests: a signed-in customer, a second
customer, and tickets made through the service layer."""

from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import FileStorage

from kernel.services import users
from web.testing import login


@pytest.fixture
def customer(customer_user, client):
    """The customer signed in on ``client``, in English unless a test says otherwise."""
    users.update_preferences(customer_user, {"locale": "en", "timezone": "UTC"},
                             actor=customer_user)
    login(client, customer_user)
    return customer_user


@pytest.fixture
def other_customer(app):
    return users.create({"email": "other@test.example", "password": "other-pass-1",
                         "kind": "customer", "name": "Other Buyer"})


def upload(name: str, content: bytes = b"data", mimetype: str = "text/plain") -> FileStorage:
    return FileStorage(stream=io.BytesIO(content), filename=name, content_type=mimetype)


@pytest.fixture(name="upload")
def upload_fixture():
    """``upload(name, content=b"data")``: a file as a browser would send it."""
    return upload
