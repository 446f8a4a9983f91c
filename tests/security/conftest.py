"""Fixtures of the security tests (``security_world``): every role and a ticket
full of what a customer must not see."""

from security_world import world  # noqa: F401 - a fixture
