"""Fixtures for the triggers plugin's tests.

The ``app`` here adds a probe plugin object (``triggers_probe.Probe``) to the
marked plugins: recording ``email`` and ``sms`` channels (the real ones come
from other plugins), a second ticket type with its own pipeline, a category and
other fields, a plugin condition, plugin actions (one always fails) and a
plugin event kind.
"""

from __future__ import annotations

import pytest
from triggers_probe import PROBE_CALLS, SENT, HttpReceiver, Probe

from kernel.testing import build_app


@pytest.fixture
def app(request, tmp_path):
    from kernel.db import db

    marker = request.node.get_closest_marker("plugins")
    names = tuple(marker.args) if marker is not None else ("helpdesk", "triggers")
    config_marker = request.node.get_closest_marker("app_config")
    SENT.clear()
    PROBE_CALLS.clear()
    application = build_app(tmp_path, (*names, "probe"),
                            dict(config_marker.kwargs) if config_marker else None,
                            plugin_objects={"probe": Probe()})
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_rule(app):
    """``make_rule(name, events, actions, conditions=None, **more)`` through the service."""
    from plugins.triggers import service

    def make(name, events, actions, conditions=None, **more):
        data = {"name": name, "events": events, "actions": actions, **more}
        if conditions is not None:
            data["conditions"] = conditions
        return service.create(data)

    return make


@pytest.fixture
def customer(app):
    from kernel.services import customers

    return customers.create({"name": "Ivan Petrov", "contract_number": "D-2024/17",
                             "phones": ["+7 912 345-67-89"], "emails": ["ivan@example.ru"]})


@pytest.fixture
def http_receiver():
    receiver = HttpReceiver()
    yield receiver
    receiver.close()
