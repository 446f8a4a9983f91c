"""Admin screens of the e-mail channel, ``/admin/mail``:

* mailboxes ("mailchannel.manage"): list, create, change, "test connection";
  the last letters taken in and what became of each;
* the quarantine ("mailchannel.manage"): letters that could not be taken in,
  with the reason; retry, discard, download the original;
* the review queue ("mailchannel.review", agents too): replies from addresses
  that are not the ticket's customer's and letters from unknown senders;
  accept (as a note, or into the thread) or reject.

Every change goes through ``plugins.mailchannel.mailboxes`` / ``service``."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from kernel.db import db, get_by_id
from kernel.errors import HookdeskError, ValidationFailed
from kernel.i18n import N_
from kernel.models import TicketType
from plugins.mailchannel import mailboxes, service
from plugins.mailchannel.models import MailLetter, MailMailbox, MailQuarantine, MailReview
from web import i18n
from web.admin import SECTIONS, Section, admin_required, sections_for
from web.auth import viewer

bp = Blueprint("mailchannel_admin", __name__, url_prefix="/admin/mail",
               template_folder="templates", static_folder="static",
               static_url_path="/static")

MANAGE, REVIEW = "mailchannel.manage", "mailchannel.review"
SECTION = Section("mailchannel", N_("E-mail channel"), "mailchannel_admin.index", MANAGE,
                  order=57, description=N_("Mailboxes letters come from, the quarantine, "
                                           "letters waiting for review."))
if SECTION not in SECTIONS:
    SECTIONS.append(SECTION)


@bp.context_processor
def _context() -> dict:
    user = viewer()
    return {"admin_sections": sections_for(user) if user is not None else []}


def _types() -> list[tuple[str, str]]:
    rows = db.session.scalars(select(TicketType).where(TicketType.is_active.is_(True))
                              .order_by(TicketType.order, TicketType.key))
    return [(t.key, i18n.translate_label(t.name)) for t in rows]


def _form_values(mailbox: MailMailbox | None) -> dict:
    if mailbox is None:
        return {"imap_security": "ssl", "imap_port": 993, "imap_folder": "INBOX",
                "create_customers": True, "is_active": True, "imap_verify": True}
    values = {k: getattr(mailbox, k) for k in (*mailboxes.TEXT, *mailboxes.FLAGS,
                                                "imap_security", "imap_port")}
    values["imap_password_set"] = bool(values.pop("imap_password"))
    return values


# -- mailboxes -----------------------------------------------------------------------


@bp.get("/")
@admin_required(MANAGE)
def index():
    letters = db.session.scalars(select(MailLetter).order_by(MailLetter.id.desc()).limit(20))
    return render_template("mailchannel/admin/index.html", mailboxes=mailboxes.all_mailboxes(),
                           letters=list(letters), values=_form_values(None), errors={},
                           types=_types(), held=_held_count())


def _held_count() -> int:
    return db.session.scalar(select(db.func.count(MailQuarantine.id)).where(
        MailQuarantine.status == "held")) or 0


@bp.post("/mailboxes")
@admin_required(MANAGE)
def create():
    try:
        mailbox = mailboxes.save(request.form.to_dict(), viewer())
    except ValidationFailed as exc:
        values = {**request.form.to_dict(), "imap_password": ""}
        for flag in mailboxes.FLAGS:
            values[flag] = flag in request.form
        letters = db.session.scalars(select(MailLetter).order_by(MailLetter.id.desc()).limit(20))
        return render_template("mailchannel/admin/index.html",
                               mailboxes=mailboxes.all_mailboxes(), letters=list(letters),
                               values=values, errors=i18n.translate_errors(exc.errors),
                               types=_types(), held=_held_count()), 422
    flash(_("The mailbox %(name)s is saved.", name=mailbox.name), "success")
    return redirect(url_for("mailchannel_admin.index"), code=303)


@bp.route("/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@admin_required(MANAGE)
def edit(mailbox_id: int):
    mailbox = get_by_id(MailMailbox, mailbox_id) or abort(404)
    errors: dict = {}
    values = _form_values(mailbox)
    if request.method == "POST":
        try:
            mailboxes.save(request.form.to_dict(), viewer(), mailbox)
        except ValidationFailed as exc:
            errors = i18n.translate_errors(exc.errors)
            values = {**request.form.to_dict(), "imap_password": "",
                      "imap_password_set": values["imap_password_set"]}
            for flag in mailboxes.FLAGS:
                values[flag] = flag in request.form
        else:
            flash(_("The mailbox %(name)s is saved.", name=mailbox.name), "success")
            return redirect(url_for("mailchannel_admin.edit", mailbox_id=mailbox.id), code=303)
    return render_template("mailchannel/admin/mailbox.html", mailbox=mailbox, values=values,
                           errors=errors, types=_types()), 422 if errors else 200


@bp.post("/mailboxes/<int:mailbox_id>/test")
@admin_required(MANAGE)
def test_connection(mailbox_id: int):
    from plugins.mailchannel import imap

    mailbox = get_by_id(MailMailbox, mailbox_id) or abort(404)
    if not mailbox.fetches:
        flash(_("Fill in the IMAP server and user first."), "error")
    else:
        try:
            count = imap.test_connection(mailbox)
        except Exception as exc:  # noqa: BLE001 - shown to the admin as it is
            flash(_("Could not connect: %(error)s", error=f"{type(exc).__name__}: {exc}"),
                  "error")
        else:
            flash(_("Connected. Letters in the folder: %(count)s.", count=count), "success")
    return redirect(url_for("mailchannel_admin.edit", mailbox_id=mailbox.id), code=303)


# -- the quarantine ------------------------------------------------------------------


@bp.get("/quarantine")
@admin_required(MANAGE)
def quarantine():
    rows = db.session.scalars(select(MailQuarantine).where(MailQuarantine.status == "held")
                              .order_by(MailQuarantine.id.desc()).limit(200))
    return render_template("mailchannel/admin/quarantine.html", rows=list(rows))


def _held(row_id: int) -> MailQuarantine:
    return get_by_id(MailQuarantine, row_id) or abort(404)


@bp.post("/quarantine/<int:row_id>/retry")
@admin_required(MANAGE)
def retry(row_id: int):
    try:
        outcome = service.retry(_held(row_id), viewer())
    except ValidationFailed as exc:
        flash(" ".join(sum(i18n.translate_errors(exc.errors).values(), [])), "error")
    else:
        if outcome.outcome in ("quarantined", "limited"):
            flash(_("Still not taken in: %(error)s", error=outcome.detail), "error")
        else:
            flash(_("The letter is taken in."), "success")
    return redirect(url_for("mailchannel_admin.quarantine"), code=303)


@bp.post("/quarantine/<int:row_id>/discard")
@admin_required(MANAGE)
def discard(row_id: int):
    service.discard(_held(row_id), viewer())
    flash(_("The letter is discarded."), "success")
    return redirect(url_for("mailchannel_admin.quarantine"), code=303)


@bp.get("/quarantine/<int:row_id>/letter.eml")
@admin_required(MANAGE)
def download(row_id: int):
    row = _held(row_id)
    return Response(row.raw, mimetype="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="quarantine-{row.id}.eml"',
        "X-Content-Type-Options": "nosniff"})


# -- the review queue ----------------------------------------------------------------


@bp.get("/review")
@admin_required(REVIEW)
def review():
    rows = db.session.scalars(select(MailReview).where(MailReview.status == "pending")
                              .order_by(MailReview.id).limit(200))
    return render_template("mailchannel/admin/review.html", rows=list(rows))


@bp.post("/review/<int:row_id>/<action>")
@admin_required(REVIEW)
def decide(row_id: int, action: str):
    row = get_by_id(MailReview, row_id) or abort(404)
    if action not in ("note", "thread", "reject"):
        abort(404)
    try:
        if action == "reject":
            service.reject_review(row, viewer())
            flash(_("The letter is rejected."), "success")
        else:
            ticket = service.accept_review(row, viewer(), public=action == "thread")
            flash(_("The letter is added to ticket %(number)s.", number=ticket.number),
                  "success")
    except HookdeskError as exc:
        errors = getattr(exc, "errors", None)
        flash(" ".join(sum(i18n.translate_errors(errors).values(), [])) if errors else str(exc),
              "error")
    return redirect(url_for("mailchannel_admin.review"), code=303)
