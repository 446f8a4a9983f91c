// The SMS form: fills the text from a template and counts length and parts live.
// Mirrors plugins/sms/segments.py (GSM-7 160/153 with the extension table counted
// twice, otherwise UCS-2 70/67 UTF-16 units; a part never splits a character).
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "\f^{}\\[~]|€";

  function count(text) {
    var chars = Array.from(text), gsm = chars.every(function (ch) {
      return BASIC.indexOf(ch) >= 0 || EXTENSION.indexOf(ch) >= 0;
    });
    var unit = function (ch) {
      if (gsm) { return EXTENSION.indexOf(ch) >= 0 ? 2 : 1; }
      return ch.codePointAt(0) > 0xFFFF ? 2 : 1;
    };
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    var length = chars.reduce(function (sum, ch) { return sum + unit(ch); }, 0);
    if (!length) { return {gsm: gsm, length: 0, parts: 0, left: single}; }
    if (length <= single) { return {gsm: gsm, length: length, parts: 1, left: single - length}; }
    var parts = 1, used = 0;
    chars.forEach(function (ch) {
      var u = unit(ch);
      if (used + u > multi) { parts += 1; used = 0; }
      used += u;
    });
    return {gsm: gsm, length: length, parts: parts, left: multi - used};
  }
  window.hookdeskSmsCount = count;

  document.querySelectorAll("[data-sms-form]").forEach(function (form) {
    var text = form.querySelector("[data-sms-text]"), out = form.querySelector("[data-sms-count]");
    var template = form.querySelector("[data-sms-template]"), locale = form.querySelector("[data-sms-locale]");
    var max = parseInt(form.closest("[data-sms-send]") ? form.closest(".sms-panel").dataset.maxParts || "0" : "0", 10);
    function show() {
      var c = count(text.value), d = out.dataset;
      out.textContent = (c.gsm ? d.labelGsm7 : d.labelUcs2) + " · " + c.length + " " + d.labelChars +
        " · " + c.parts + " " + d.labelParts + " · " + c.left + " " + d.labelLeft;
      out.dataset.parts = c.parts;
      out.classList.toggle("sms-count--over", max > 0 && c.parts > max);
    }
    function fill() {
      var option = template && template.selectedOptions[0];
      if (option && option.value) {
        text.value = option.dataset[locale ? locale.value : "ru"] || option.dataset.ru || option.dataset.en || "";
        show();
      }
    }
    text.addEventListener("input", show);
    if (template) { template.addEventListener("change", fill); }
    if (locale) { locale.addEventListener("change", fill); }
    show();
  });
}());
