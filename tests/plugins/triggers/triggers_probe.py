"""The probe plugin object and a loopback HTTP receiver for the triggers tests
(a module with a unique name: test folders here are not packages)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kernel import declarations as d
from kernel import hookimpl

SENT: list[tuple[str, str, str, str, dict]] = []  # (channel, recipient, subject, body, context)
PROBE_CALLS: list[tuple[str, dict]] = []


def _kernel_channels() -> set[str]:
    """Channels the kernel's own plugin modules declare (``kernel.mail`` brings the
    real ``email`` channel): the probe declares only the others."""
    import sys

    found = set()
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "kernel" or name.startswith("kernel.")):
            continue
        hook = getattr(module, "hookdesk_register_notification_channels", None)
        if callable(hook) and getattr(hook, "hookdesk_impl", None) is not None:
            found |= {c.key for c in hook()}
    return found


def _recorder(channel):
    def send(recipient, subject, body, context):
        SENT.append((channel, recipient, subject, body, dict(context)))

    return send


def subject_has(ticket, event, params) -> bool:
    return str(params.get("word", "")).lower() in (ticket.subject or "").lower()


def explode(ticket, event, params) -> bool:
    raise ValueError("the probe condition always raises")


def tag(ticket, event, params, context) -> None:
    from kernel.services import tickets

    PROBE_CALLS.append(("tag", dict(context)))
    tickets.update(ticket, {"probe_note": params.get("text", "tagged")}, actor=None,
                   via=context["via"])


def boom(ticket, event, params, context) -> None:
    from kernel.services import tickets

    # Write something first: the failure must undo it too.
    tickets.update(ticket, {"probe_note": "half-done"}, actor=None, via=context["via"])
    raise RuntimeError("the probe action always fails")


ORDER_PIPELINE = d.PipelineDecl(
    "probe_orders", "Orders",
    [d.StatusDecl("placed", "Placed"), d.StatusDecl("shipped", "Shipped"),
     d.StatusDecl("delivered", "Delivered", "closed_success"),
     d.StatusDecl("cancelled", "Cancelled", "closed_failure")],
    transitions=[("placed", "shipped"), ("shipped", "delivered"), ("placed", "cancelled"),
                 ("shipped", "cancelled")],
)


class Probe:
    """A test plugin."""

    @hookimpl
    def hookdesk_register_notification_channels(self):
        have = _kernel_channels()
        return [d.NotificationChannelDecl(key, key, _recorder(key))
                for key in ("email", "sms") if key not in have]

    @hookimpl
    def hookdesk_register_pipelines(self):
        return [ORDER_PIPELINE]

    @hookimpl
    def hookdesk_register_ticket_types(self):
        return [d.TicketTypeDecl("probe_order", "Order", "probe_orders", "placed", "ORD-{seq}")]

    @hookimpl
    def hookdesk_register_fields(self):
        return [
            d.FieldDecl("probe_category", "choice", "Category",
                        choices=[("plumbing", "Plumbing"), ("electrics", "Electrics"),
                                 ("windows", "Windows")]),
            d.FieldDecl("probe_note", "text", "Note", max_length=200),
            d.FieldDecl("probe_score", "number", "Score"),
            d.FieldDecl("probe_due", "date", "Due date"),
            d.FieldDecl("probe_tags", "multi_choice", "Tags",
                        choices=[("vip", "VIP"), ("new", "New"), ("loud", "Loud")]),
            d.FieldDecl("probe_flag", "flag", "Flag"),
            d.FieldDecl("probe_a", "text", "A"),
            d.FieldDecl("probe_b", "text", "B"),
            *[d.FieldDecl(f"probe_f{n}", "number", f"F{n}") for n in range(1, 9)],
        ]

    @hookimpl
    def hookdesk_register_event_kinds(self):
        return [d.EventKindDecl("probe.call", "Phone call")]

    @hookimpl
    def hookdesk_register_trigger_conditions(self):
        return [d.TriggerConditionDecl("probe.subject_has", "Subject has a word", subject_has,
                                       params=[d.FieldDecl("word", "text", "Word",
                                                           required=True)]),
                d.TriggerConditionDecl("probe.explode", "Always raises", explode)]

    @hookimpl
    def hookdesk_register_trigger_actions(self):
        return [
            d.TriggerActionDecl("probe.tag", "Tag", tag,
                                params=[d.FieldDecl("text", "text", "Text")]),
            d.TriggerActionDecl("probe.boom", "Always fails", boom),
        ]


class HttpReceiver:
    """A real HTTP server on loopback that records POSTs."""

    def __init__(self):
        self.calls: list[tuple[dict, bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/rule-hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
