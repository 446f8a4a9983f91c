// The defects part of the claim form: add and remove rows, show the chosen
// apartment's plan, and place each defect's numbered mark by a click on it.
(function () {
  "use strict";

  function init(box) {
    var list = box.querySelector("[data-defect-list]");
    var template = box.querySelector("[data-defect-template]");
    var planBox = box.querySelector("[data-plan-box]");
    var plan = box.querySelector("[data-plan]");
    var img = box.querySelector("[data-plan-img]");
    var missing = box.querySelector("[data-plan-missing]");
    var max = parseInt(box.dataset.max || "50", 10);
    var form = box.closest("form");
    var apartment = form ? form.querySelector("select[name=apartment]") : null;
    var active = null;
    var next = 0;

    function rows() { return Array.prototype.slice.call(list.querySelectorAll("[data-defect-row]")); }

    function renumber() {
      rows().forEach(function (row, n) {
        row.querySelector("[data-defect-number]").textContent = String(n + 1);
        row.querySelector("[data-defect-number-text]").textContent = String(n + 1);
        var state = row.querySelector("[data-mark-state]");
        var marked = row.querySelector("[data-mark-x]").value !== "";
        state.textContent = marked ? box.dataset.textMarked : (row === active ? box.dataset.textChoose : box.dataset.textUnmarked);
      });
      drawMarks();
      box.querySelector("[data-add-defect]").disabled = rows().length >= max;
    }

    function drawMarks() {
      plan.querySelectorAll(".warranty-mark").forEach(function (m) { m.remove(); });
      rows().forEach(function (row, n) {
        var x = row.querySelector("[data-mark-x]").value, y = row.querySelector("[data-mark-y]").value;
        if (x === "" || y === "") { return; }
        var mark = document.createElement("span");
        mark.className = "warranty-mark";
        mark.textContent = String(n + 1);
        mark.dataset.mark = String(n + 1);
        mark.style.left = (parseFloat(x) * 100) + "%";
        mark.style.top = (parseFloat(y) * 100) + "%";
        plan.appendChild(mark);
      });
    }

    function activate(row) {
      rows().forEach(function (r) {
        r.classList.toggle("is-active", r === row);
        r.querySelector("[data-mark-defect]").setAttribute("aria-pressed", r === row ? "true" : "false");
      });
      active = row;
      renumber();
    }

    function wire(row) {
      var index = parseInt(row.dataset.index, 10);
      if (!isNaN(index)) { next = Math.max(next, index + 1); }
      row.querySelector("[data-mark-defect]").addEventListener("click", function () { activate(row); });
      row.querySelector("[data-remove-defect]").addEventListener("click", function () {
        if (active === row) { active = null; }
        row.remove();
        renumber();
      });
    }

    function addRow() {
      if (rows().length >= max) { return null; }
      var html = template.innerHTML.replace(/__i__/g, String(next));
      var holder = document.createElement("ol");
      holder.innerHTML = html.trim();
      var row = holder.firstElementChild;
      list.appendChild(row);
      wire(row);
      activate(row);
      row.querySelector("select").focus();
      return row;
    }

    function clearMarks() {
      rows().forEach(function (row) {
        row.querySelector("[data-mark-x]").value = "";
        row.querySelector("[data-mark-y]").value = "";
      });
    }

    function showPlan(changed) {
      var id = apartment ? apartment.value : "";
      if (changed) { clearMarks(); }
      if (!id) { planBox.hidden = true; missing.hidden = true; renumber(); return; }
      img.onload = function () { planBox.hidden = false; missing.hidden = true; renumber(); };
      img.onerror = function () { planBox.hidden = true; missing.hidden = false; clearMarks(); renumber(); };
      img.src = box.dataset.planUrl.replace("{id}", encodeURIComponent(id));
    }

    plan.addEventListener("click", function (event) {
      var row = active || rows()[rows().length - 1] || addRow();
      if (!row) { return; }
      var rect = img.getBoundingClientRect();
      var x = (event.clientX - rect.left) / rect.width, y = (event.clientY - rect.top) / rect.height;
      if (x < 0 || x > 1 || y < 0 || y > 1) { return; }
      row.querySelector("[data-mark-x]").value = x.toFixed(4);
      row.querySelector("[data-mark-y]").value = y.toFixed(4);
      renumber();
    });
    box.querySelector("[data-add-defect]").addEventListener("click", addRow);
    rows().forEach(wire);
    if (rows().length) { activate(rows()[rows().length - 1]); }
    if (apartment) {
      apartment.addEventListener("change", function () { showPlan(true); });
      showPlan(false);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-defects]").forEach(init);
  });
})();
