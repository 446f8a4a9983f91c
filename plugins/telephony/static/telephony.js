/* The incoming-call pop-up: polls /telephony/popup.json and shows each ringing
   call with the customer, their open tickets and a button that opens a ticket. */
(function () {
  "use strict";
  var box = document.getElementById("telephony-popup");
  if (!box || !window.fetch) { return; }
  var t = box.dataset, every = 3000, dismissed = {};
  try { dismissed = JSON.parse(sessionStorage.getItem("telephony-dismissed") || "{}"); } catch (e) { dismissed = {}; }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function link(href, text, cls) {
    var a = el("a", cls, text);
    a.href = href;
    return a;
  }

  function dismiss(id) {
    dismissed[id] = 1;
    try { sessionStorage.setItem("telephony-dismissed", JSON.stringify(dismissed)); } catch (e) { /* private mode */ }
  }

  function card(call) {
    var item = el("section", "telephony-popup__call");
    item.setAttribute("data-call", call.id);
    var head = el("div", "telephony-popup__head");
    head.appendChild(el("span", "telephony-popup__ring", "☎"));
    var title = el("div", "telephony-popup__title");
    title.appendChild(el("small", "muted", t.tTitle));
    title.appendChild(el("b", "telephony-popup__number", call.number));
    head.appendChild(title);
    var close = el("button", "telephony-popup__close", "×");
    close.type = "button";
    close.setAttribute("aria-label", t.tClose);
    close.addEventListener("click", function () {
      dismiss(call.id);
      item.remove();
      if (!box.children.length) { box.hidden = true; }
    });
    head.appendChild(close);
    item.appendChild(head);

    if (call.customer) {
      var who = el("p", "telephony-popup__customer");
      who.appendChild(link(call.customer.url, call.customer.name, "telephony-popup__name"));
      item.appendChild(who);
      item.appendChild(el("p", "small muted", t.tTickets));
      if (call.customer.tickets.length) {
        var list = el("ul", "telephony-popup__tickets");
        call.customer.tickets.forEach(function (ticket) {
          var li = el("li");
          li.appendChild(link(ticket.url, ticket.number));
          li.appendChild(document.createTextNode(" " + ticket.subject + " "));
          li.appendChild(el("span", "badge badge--info", ticket.status));
          list.appendChild(li);
        });
        item.appendChild(list);
      } else {
        item.appendChild(el("p", "small", t.tNone));
      }
    } else {
      item.appendChild(el("p", "telephony-popup__customer muted", t.tUnknown));
    }

    var actions = el("div", "telephony-popup__actions");
    if (call.ticket) {
      actions.appendChild(link(call.ticket.url, t.tTicket + " " + call.ticket.number, "btn btn--primary btn--small"));
    } else {
      var form = el("form");
      form.method = "post";
      form.action = call.open_url;
      var token = el("input");
      token.type = "hidden"; token.name = "csrf_token"; token.value = t.csrf;
      form.appendChild(token);
      var button = el("button", "btn btn--primary btn--small", t.tOpen);
      button.type = "submit";
      button.setAttribute("data-telephony-open", call.id);
      form.appendChild(button);
      // The agent took this call: it does not pop up again on the ticket's page.
      form.addEventListener("submit", function () { dismiss(call.id); });
      actions.appendChild(form);
    }
    if (call.customer) {
      actions.appendChild(link(call.customer.url, t.tCustomer, "btn btn--secondary btn--small"));
    }
    item.appendChild(actions);
    return item;
  }

  var shown = "";
  function render(calls) {
    calls = calls.filter(function (c) { return !dismissed[c.id]; });
    var key = JSON.stringify(calls);
    if (key === shown) { return; }
    shown = key;
    box.textContent = "";
    calls.forEach(function (call) { box.appendChild(card(call)); });
    box.hidden = !calls.length;
  }

  function poll() {
    if (document.hidden) { return schedule(); }
    fetch(t.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (r.status === 403 || r.status === 401) { throw new Error("stop"); } return r.json(); })
      .then(function (data) { render(data.calls || []); schedule(); })
      .catch(function (e) { if (e.message !== "stop") { schedule(every * 3); } });
  }

  function schedule(delay) { window.setTimeout(poll, delay || every); }
  poll();
})();
