/* Agent workspace: the offer to link a customer by phone (A2) and drag-and-drop
   on the pipeline board (A4). Both pages work without it. */
(function () {
  "use strict";

  function csrf(form) {
    var input = form && form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  // The table's filters: folded on phones, open on wider screens.
  document.querySelectorAll("details[data-open-wide]").forEach(function (box) {
    if (window.matchMedia("(min-width: 641px)").matches) { box.open = true; }
  });

  // -- A2: exact phone match -> offer to link ------------------------------
  var box = document.querySelector("[data-matches]");
  var phone = document.querySelector("[data-phone-lookup]");
  if (box && phone && !document.querySelector("[data-linked]")) {
    phone.addEventListener("change", function () {
      var value = phone.value.trim();
      if (!value) { box.textContent = ""; return; }
      fetch(box.getAttribute("data-lookup-url") + "?phone=" + encodeURIComponent(value),
            {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          box.textContent = "";
          var found = data.customers || [];
          if (!found.length) { return; }
          var offer = document.createElement("div");
          offer.className = "flash flash--info agent-match-offer";
          var p = document.createElement("p");
          p.textContent = box.getAttribute("data-text-found");
          offer.appendChild(p);
          var list = document.createElement("ul");
          list.className = "check-list";
          found.forEach(function (c) {
            var li = document.createElement("li");
            var label = document.createElement("label");
            label.className = "check";
            var radio = document.createElement("input");
            radio.type = "radio"; radio.name = "customer_id"; radio.value = c.id;
            var b = document.createElement("b"); b.textContent = " " + c.name + " ";
            var span = document.createElement("span"); span.className = "muted";
            span.textContent = c.phones.join(", ") + (c.open_tickets ? " · " + c.open_label : "");
            label.appendChild(radio); label.appendChild(b); label.appendChild(span);
            li.appendChild(label); list.appendChild(li);
          });
          offer.appendChild(list);
          box.appendChild(offer);
        })
        .catch(function () { box.textContent = ""; });
    });
  }

  // -- A4: drag and drop on the board -------------------------------------
  var boardEl = document.querySelector("[data-board]");
  if (!boardEl) { return; }
  var message = document.querySelector("[data-board-message]");
  var dragged = null;
  function say(text) {
    if (!message) { return; }
    message.textContent = text || "";
    message.hidden = !text;
  }
  boardEl.querySelectorAll(".agent-card").forEach(function (card) {
    card.addEventListener("dragstart", function (e) {
      dragged = card;
      card.classList.add("is-dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", card.getAttribute("data-ticket-id"));
    });
    card.addEventListener("dragend", function () {
      card.classList.remove("is-dragging");
      boardEl.querySelectorAll(".is-target").forEach(function (c) { c.classList.remove("is-target"); });
    });
  });
  boardEl.querySelectorAll("[data-status]").forEach(function (column) {
    column.addEventListener("dragover", function (e) {
      if (!dragged) { return; }
      e.preventDefault();
      column.classList.add("is-target");
    });
    column.addEventListener("dragleave", function () { column.classList.remove("is-target"); });
    column.addEventListener("drop", function (e) {
      e.preventDefault();
      column.classList.remove("is-target");
      var card = dragged;
      dragged = null;
      if (!card || card.closest("[data-status]") === column) { return; }
      var form = card.querySelector("form");
      var body = new FormData();
      body.append("csrf_token", csrf(form) || csrf(document));
      body.append("ticket_id", card.getAttribute("data-ticket-id"));
      body.append("expected_version", card.getAttribute("data-version"));
      body.append("status", column.getAttribute("data-status"));
      fetch(boardEl.getAttribute("data-move-url"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: {"X-Requested-With": "fetch", "Accept": "application/json"}
      }).then(function (r) { return r.json(); }).then(function (data) {
        if (!data.ok) { say(data.message); return; }  // refused: the card stays
        say("");
        var from = card.closest("[data-status]");
        column.querySelector("[data-drop]").prepend(card);
        card.setAttribute("data-version", data.version);
        card.setAttribute("data-allowed", data.allowed.join(" "));
        [from, column].forEach(function (col) {
          var counter = col.querySelector("[data-count]");
          counter.textContent = col.querySelectorAll(".agent-card").length;
        });
        if (form) { form.hidden = true; }  // its options were for the old column; reload for new
      }).catch(function () { window.location.reload(); });
    });
  });
})();
