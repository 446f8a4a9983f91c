"""Configuration changes are recorded with who, when and what (K3)."""

import pytest

from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.models import AuditEntry
from kernel.services import audit, fields, settings, workflow


def test_changes_are_recorded_with_actor_and_arguments(app, admin):
    workflow.set_transition("support", "resolved", "in_progress", False, actor=admin)
    fields.override("subject", {"label": "Тема"}, actor=admin)
    entries = audit.recent()
    assert [e.action for e in entries] == ["fields.override", "workflow.set_transition"]
    transition = entries[1]
    assert transition.actor_id == admin.id and transition.target == "support"
    assert transition.data == {"pipeline_key": "support", "from_key": "resolved",
                               "to_key": "in_progress", "allowed": False}
    assert entries[0].data["changes"] == {"label": "Тема"}


def test_refused_change_leaves_no_entry(app, admin):
    with pytest.raises(ValidationFailed):
        workflow.set_number_template("request", "no-seq", actor=admin)
    with pytest.raises(ValidationFailed):
        settings.set("nope.nothing", 1, actor=admin)
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == 0


def test_audit_rows_share_the_transaction(app, admin):
    with pytest.raises(RuntimeError):
        from kernel.services.uow import unit_of_work

        with unit_of_work():
            workflow.set_number_template("request", "R-{seq}", actor=admin)
            raise RuntimeError("abort")
    assert audit.recent() == []
    assert workflow.ticket_type("request").number_template != "R-{seq}"


def test_admin_page_shows_the_log(app, client, admin):
    from web.testing import login

    workflow.set_transition("support", "resolved", "in_progress", False, actor=admin)
    login(client, admin)
    page = client.get("/admin/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # In words, in the reader's language (not the action's code, not JSON escapes).
    assert "Переход разрешён или запрещён" in html and "workflow.set_transition" not in html
    assert "\\u04" not in html


def test_admin_sees_failed_messages_and_sends_them_again(app, client, admin):
    from kernel import outbox
    from kernel.models import OutboxMessage
    from kernel.services.uow import unit_of_work
    from web.testing import login

    with unit_of_work():
        row = outbox.put("email", "nobody@example.com", {"subject": "Lost letter"}, key="t1")
    with unit_of_work():
        row = db.session.get(OutboxMessage, row.id)
        row.status, row.last_error = "failed", "550 no such mailbox"
    login(client, admin)
    page = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "Lost letter" in page and "550 no such mailbox" in page
    answer = client.post(f"/admin/outbox/{row.id}/retry")
    assert answer.status_code == 302
    db.session.rollback()
    again = db.session.get(OutboxMessage, row.id)
    # Queued again from zero attempts; the in-memory test queue delivers at once
    # (no HOOKDESK_MAIL_URL: into the instance's mail folder).
    assert (again.status, again.attempts, again.last_error) == ("sent", 1, "")
