"""Tickets, their history, thread, attachments and links."""

from __future__ import annotations

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from kernel import visibility
from kernel.errors import ValidationFailed
from kernel.services import attachments, links, messages, queries, tickets
from web import history_lines, i18n
from web.api import schemas as s
from web.api import serialize
from web.api.auth import current_user, require_token
from web.files import file_response

blp = Blueprint("api_tickets", __name__, url_prefix="/tickets",
                description="Tickets: create, read, change, transition, assign; thread and files.")



def _prefixed(exc: ValidationFailed) -> ValidationFailed:
    """Kernel errors name field keys; in the API those live under ``values``."""
    plain = {"type", "_schema", "number", "version"}
    renamed = {(k if k in plain else f"values.{k}"): v for k, v in exc.errors.items()}
    return ValidationFailed(renamed)


def _etag(version: int) -> str:
    return f'"{version}"'


def _if_match(ticket_version: int, body_version: int | None) -> int | None:
    """The version the caller claims to have read; 412 on an ``If-Match`` mismatch."""
    header = request.headers.get("If-Match")
    if header:
        tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
        if "*" not in tags and str(ticket_version) not in tags:
            abort(412, message=f"The ticket is at version {ticket_version}; reload and retry.",
                  headers={"ETag": _etag(ticket_version)})
        return ticket_version
    return body_version


def _one(ticket, status=200, extra_headers=None):
    headers = {"ETag": _etag(ticket.version), **(extra_headers or {})}
    return serialize.ticket(ticket, current_user()), status, headers


def _plugin_filters(items: list[str]) -> dict[str, str]:
    """``key:value`` pairs of ``filter``; the kernel refuses unknown keys and values."""
    found = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key or not value:
            raise ValidationFailed({"filter": f"{item!r}: write key:value."})
        found[key] = value
    return found


@blp.route("")
class Tickets(MethodView):
    @blp.arguments(s.TicketQuery, location="query")
    @blp.response(200, s.TicketPage)
    @require_token
    def get(self, args):
        """List tickets the token's user may see, filtered, sorted and paged."""
        flt = queries.TicketFilter(
            state=args["state"], types=args["type"], statuses=args["status"],
            assignee_id=args.get("assignee_id"), customer_id=args.get("customer_id"),
            queue=args.get("queue"), urgent=args.get("urgent"), overdue=args.get("overdue"),
            search=args.get("q"), created_from=args.get("created_from"),
            created_to=args.get("created_to"), extra=_plugin_filters(args["filter"]),
        )
        page = queries.list_tickets(current_user(), flt, args["sort"], args["page"],
                                    args["per_page"])
        viewer = current_user()
        return {"items": [serialize.ticket(t, viewer) for t in page.items], "page": page.page,
                "per_page": page.per_page, "total": page.total, "pages": page.pages,
                "total_exact": page.total_exact}

    @blp.arguments(s.TicketCreate)
    @blp.response(201, s.TicketOut)
    @require_token
    def post(self, data):
        """Create a ticket. ``values`` are checked against the type's fields."""
        try:
            ticket = tickets.create(data["values"], actor=current_user(), type=data.get("type"))
        except ValidationFailed as exc:
            raise _prefixed(exc) from exc
        location = url_for("api_tickets.Ticket", ref=ticket.number)
        return _one(ticket, 201, {"Location": location})


@blp.route("/<ref>")
class Ticket(MethodView):
    @blp.response(200, s.TicketOut)
    @require_token
    def get(self, ref):
        """One ticket by id or number. The ``ETag`` is its version."""
        return _one(tickets.get(ref, current_user()))

    @blp.arguments(s.TicketUpdate)
    @blp.response(200, s.TicketOut)
    @require_token
    def patch(self, data, ref):
        """Change field values. Send ``If-Match`` (or ``version``) to refuse lost updates."""
        ticket = tickets.get(ref, current_user())
        expected = _if_match(ticket.version, data.get("version"))
        try:
            tickets.update(ticket, data["values"], actor=current_user(),
                           expected_version=expected)
        except ValidationFailed as exc:
            raise _prefixed(exc) from exc
        return _one(ticket)


@blp.route("/<ref>/transitions")
class Transitions(MethodView):
    @blp.arguments(s.TransitionIn)
    @blp.response(200, s.TicketOut)
    @require_token
    def post(self, data, ref):
        """Move the ticket to another status, if its pipeline allows it (else 409)."""
        ticket = tickets.get(ref, current_user())
        expected = _if_match(ticket.version, data.get("version"))
        tickets.transition(ticket, data["status"], actor=current_user(),
                           comment=data.get("comment"), expected_version=expected,
                           comment_visible_to_customer=data["comment_visible_to_customer"])
        return _one(ticket)


@blp.route("/<ref>/assign")
class Assign(MethodView):
    @blp.arguments(s.AssignIn)
    @blp.response(200, s.TicketOut)
    @require_token
    def post(self, data, ref):
        """Make an agent responsible (``null`` to unassign)."""
        ticket = tickets.get(ref, current_user())
        expected = _if_match(ticket.version, data.get("version"))
        tickets.assign(ticket, data["assignee_id"], actor=current_user(),
                       expected_version=expected)
        return _one(ticket)


@blp.route("/<ref>/history")
class History(MethodView):
    @blp.response(200, s.EventOut(many=True))
    @require_token
    def get(self, ref):
        """The ticket's event log, oldest first, as the token's user may see it:
        without internal notes and files, changes of hidden fields, agents'
        transition comments or links to tickets the user may not view."""
        viewer = current_user()
        ticket = tickets.get(ref, viewer)
        events = visibility.history(ticket, viewer)
        with i18n.use(viewer.locale, viewer.timezone):  # the token user's, as on their card
            shown = history_lines.for_history(ticket, viewer, events)
        return [{"id": e.id, "at": e.at, "kind": e.kind, "actor_id": e.actor_id, "via": e.via,
                 "data": e.data, "shown": [c.as_dict() for c in shown.get(e.id, [])]}
                for e in events]


@blp.route("/<ref>/messages")
class Messages(MethodView):
    @blp.response(200, s.MessageOut(many=True))
    @require_token
    def get(self, ref):
        """The thread in time order (internal notes only for agents allowed to see them)."""
        viewer = current_user()
        ticket = tickets.get(ref, viewer)
        return [serialize.message(m, viewer) for m in messages.thread(ticket, viewer)]

    @blp.arguments(s.MessageIn)
    @blp.response(201, s.MessageOut)
    @require_token
    def post(self, data, ref):
        """Reply, or write an internal note (agents). A message never conflicts with
        another change; only a stale ``If-Match``, when sent, is refused (412)."""
        viewer = current_user()
        ticket = tickets.get(ref, viewer)
        _if_match(ticket.version, None)
        message = messages.post(ticket, data["body"], actor=viewer, internal=data["internal"])
        return serialize.message(message, viewer)


@blp.route("/<ref>/attachments")
class Attachments(MethodView):
    @blp.response(200, s.AttachmentOut(many=True))
    @require_token
    def get(self, ref):
        viewer = current_user()
        ticket = tickets.get(ref, viewer)
        return [serialize.attachment(a) for a in attachments.for_ticket(ticket, viewer)]

    @blp.arguments(s.UploadForm, location="form")
    @blp.arguments(s.UploadIn, location="files")
    @blp.response(201, s.AttachmentOut)
    @require_token
    def post(self, form, files, ref):
        """Upload a file (multipart field ``file``)."""
        viewer = current_user()
        ticket = tickets.get(ref, viewer)
        return serialize.attachment(attachments.attach(ticket, files["file"], actor=viewer,
                                                       internal=form["internal"]))


@blp.route("/<ref>/links")
class Links(MethodView):
    @blp.response(200, s.LinkOut(many=True))
    @require_token
    def get(self, ref):
        """Links to tickets the token's user may also view."""
        viewer = current_user()
        return visibility.links(tickets.get(ref, viewer), viewer)

    @blp.arguments(s.LinkIn)
    @blp.response(201, s.LinkOut)
    @require_token
    def post(self, data, ref):
        """Link this ticket to another (related, converted_to, duplicate_of...)."""
        viewer = current_user()
        source = tickets.get(ref, viewer)
        target = tickets.get(data["target"], viewer)
        return links.link(source, target, data["kind"], actor=viewer)


files_blp = Blueprint("api_files", __name__, url_prefix="/attachments",
                      description="Downloading files of tickets the token may see.")


@files_blp.route("/<int:attachment_id>", endpoint="download")
@files_blp.response(200, description="The file's bytes.")
@require_token
def download(attachment_id):
    """Download a file; images and PDFs are shown inline, everything else is an
    attachment under its original name."""
    found = attachments.get(attachment_id, current_user())
    return file_response(found)
