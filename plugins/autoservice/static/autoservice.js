/* The outcome form on a contact's card: only the chosen category's outcomes,
   and only the inputs the chosen outcome needs (the server checks it all anyway). */
(function () {
  var form = document.querySelector("[data-outcome-form]");
  if (!form) return;
  var cat = form.querySelector("#as-category"), out = form.querySelector("#as-outcome");
  function sync() {
    var shown = 0;
    Array.prototype.forEach.call(out.options, function (o) {
      if (!o.value) return;
      var on = o.getAttribute("data-category") === cat.value;
      o.hidden = !on; o.disabled = !on; if (on) shown++;
      if (!on && o.selected) out.value = "";
    });
    out.options[0].hidden = shown > 0;
    if (shown > 0 && !out.value) { out.value = ""; }
    var effect = (out.selectedOptions[0] || {}).getAttribute ? out.selectedOptions[0].getAttribute("data-effect") : "";
    form.querySelectorAll("[data-param]").forEach(function (p) { p.hidden = p.getAttribute("data-param") !== effect; });
  }
  cat.addEventListener("change", sync); out.addEventListener("change", sync); sync();
})();
