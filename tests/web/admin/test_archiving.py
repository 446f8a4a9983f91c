"""Archiving instead of deleting (K3): a status, a move or a pipeline is kept for the
tickets and history that name it, gone from forms and pickers, shown greyed in admin
with "restore"; a new pipeline allows no move until the admin ticks some."""

from __future__ import annotations

import pytest

from kernel.db import db
from kernel.errors import TransitionRefused, ValidationFailed
from kernel.services import tickets, workflow
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk")


@pytest.fixture
def admin_client(client, admin):
    login(client, admin)
    return client


def fresh(key="support"):
    db.session.expire_all()
    return workflow.pipeline(key)


def test_an_archived_status_keeps_its_tickets_and_is_offered_no_more(admin_client, admin,
                                                                      agent):
    ticket = tickets.create({"subject": "Ждёт"}, type="request", actor=agent)
    tickets.transition(ticket, "in_progress", actor=agent)
    tickets.transition(ticket, "waiting", actor=agent)
    response = admin_client.post("/admin/pipelines/support/statuses/waiting/archive")
    assert response.status_code == 303
    pipe = fresh()
    assert pipe.status("waiting").archived_at is not None
    assert tickets.get(ticket.id).status.key == "waiting"  # the ticket keeps it
    # gone from moves and pickers, though the ticket may move out of it
    assert "waiting" not in [s.key for s in pipe.next_statuses(pipe.status("in_progress"))]
    assert pipe.next_statuses(pipe.status("waiting"))
    other = tickets.create({"subject": "Новая"}, type="request", actor=agent)
    tickets.transition(other, "in_progress", actor=agent)
    with pytest.raises(TransitionRefused):
        tickets.transition(other, "waiting", actor=agent)
    login(admin_client, agent)
    card = admin_client.get(f"/agent/tickets/{other.id}").get_data(as_text=True)
    assert 'value="waiting"' not in card.split('id="status-to"', 1)[1].split("</select>")[0]
    history = admin_client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    history = history.split('id="history"', 1)[1]
    assert "→ Ждёт ответа покупателя" in history  # history still names it

    login(admin_client, admin)
    page = admin_client.get("/admin/pipelines/support").get_data(as_text=True)
    row = page.split('id="status-waiting"', 1)[1].split("</li>", 1)[0]
    assert "В архиве" in row and "Вернуть из архива" in row
    assert 'value="waiting:' not in page  # not in the matrix of moves
    assert admin_client.post("/admin/pipelines/support/statuses/waiting/restore"
                             ).status_code == 303
    pipe = fresh()
    assert pipe.status("waiting").archived_at is None
    assert "waiting" in [s.key for s in pipe.next_statuses(pipe.status("in_progress"))]


def test_the_initial_status_cannot_be_archived(admin_client):
    response = admin_client.post("/admin/pipelines/support/statuses/new/archive",
                                 follow_redirects=True)
    assert "request" in response.get_data(as_text=True)  # names the type that starts there
    assert fresh().status("new").archived_at is None


def test_an_unticked_move_is_archived_and_restored_by_ticking(admin, agent):
    workflow.set_transition("support", "new", "in_progress", False, actor=admin)
    pipe = fresh()
    kept = [t for t in pipe.transitions
            if (t.from_status.key, t.to_status.key) == ("new", "in_progress")]
    assert len(kept) == 1 and kept[0].archived_at is not None  # kept, not deleted
    assert not pipe.allows(pipe.status("new"), pipe.status("in_progress"))
    workflow.set_transition("support", "new", "in_progress", True, actor=admin)
    pipe = fresh()
    assert pipe.allows(pipe.status("new"), pipe.status("in_progress"))


def test_a_new_pipeline_allows_no_move(admin_client):
    admin_client.post("/admin/pipelines", data={
        "key": "repair", "name": "Ремонт",
        "statuses": "accepted, Принят\ndone, Готов, closed_success"})
    pipe = fresh("repair")
    assert pipe.transitions == []
    page = admin_client.get("/admin/pipelines/repair").get_data(as_text=True)
    assert 'value="accepted:done"' in page and "checked" not in page.split(
        'id="transitions"', 1)[1].split("</table>", 1)[0]


def test_a_pipeline_in_use_is_not_archived_an_unused_one_is(admin_client, admin):
    refused = admin_client.post("/admin/pipelines/support/archive", follow_redirects=True)
    assert "request" in refused.get_data(as_text=True)
    assert fresh().archived_at is None
    workflow.create_pipeline("repair", "Ремонт", [{"key": "a", "name": "A"}], actor=admin)
    assert admin_client.post("/admin/pipelines/repair/archive").status_code == 303
    assert fresh("repair").archived_at is not None
    listing = admin_client.get("/admin/pipelines").get_data(as_text=True)
    assert "is-inactive" in listing and "В архиве" in listing
    form = admin_client.get("/admin/types").get_data(as_text=True)
    assert 'value="repair"' not in form  # gone from the type form's picker
    with pytest.raises(ValidationFailed) as err:
        workflow.create_type("repairs", "Ремонты", "repair", actor=admin)
    assert "pipeline" in err.value.errors
    page = admin_client.get("/admin/pipelines/repair").get_data(as_text=True)
    assert "Вернуть из архива" in page
    admin_client.post("/admin/pipelines/repair/restore")
    assert fresh("repair").archived_at is None
