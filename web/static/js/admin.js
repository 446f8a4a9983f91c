/* Admin screens: the live preview of the next ticket number. Works without it. */
(function () {
  "use strict";
  document.querySelectorAll("[data-number-template]").forEach(function (input) {
    var form = input.closest("form");
    var box = form && form.querySelector("[data-number-preview]");
    if (!box) { return; }
    var out = box.querySelector("[data-number]");
    var err = box.querySelector("[data-error]");
    var typeSource = input.getAttribute("data-preview-type");
    var timer = null;
    function typeKey() {
      if (typeSource) {
        var source = document.querySelector(typeSource);
        return (source && source.value) || "type";
      }
      return input.getAttribute("data-type-key") || "type";
    }
    function update() {
      var url = box.getAttribute("data-url") + "?template=" + encodeURIComponent(input.value) +
        "&type=" + encodeURIComponent(typeKey());
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (data) {
          out.textContent = data.ok ? data.number : "—";
          err.textContent = data.ok ? "" : data.error;
        })
        .catch(function () {});
    }
    function schedule() { window.clearTimeout(timer); timer = window.setTimeout(update, 250); }
    input.addEventListener("input", schedule);
    if (typeSource) {
      var source = document.querySelector(typeSource);
      if (source) { source.addEventListener("input", schedule); }
    }
  });
})();
