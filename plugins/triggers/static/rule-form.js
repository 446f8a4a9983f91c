/* The rule editor's form: events, conditions (all/any groups, one level of
   nesting) and actions picked from the catalogue. It writes the same JSON the
   JSON tab shows and the server checks; without this script the JSON fields
   are the editor. Errors come from the server, keyed by path
   ("conditions.all.1.op"), and are shown under the row they belong to. */
(function () {
  "use strict";
  var root = document.querySelector("[data-rule-editor]");
  if (!root) { return; }
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }
  var cat = data("rule-catalogue"), words = data("rule-words"), errors = data("rule-errors");
  var form = root.closest("form");
  var areas = {
    events: form.querySelector("textarea[name=events]"),
    conditions: form.querySelector("textarea[name=conditions]"),
    actions: form.querySelector("textarea[name=actions]")
  };
  var builder = root.querySelector("[data-rule-builder]");
  var jsonPart = root.querySelector("[data-rule-json]");
  var tabs = root.querySelectorAll("[data-rule-tab]");
  var byKey = function (list) { var m = {}; list.forEach(function (x) { m[x.key] = x; }); return m; };
  var fields = byKey(cat.fields), ops = byKey(cat.operators);
  var conds = byKey(cat.conditions), acts = byKey(cat.actions), evs = byKey(cat.events);

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  var uid = 0;
  var LIST_PARAMS = ["fields", "statuses", "agents", "copy_fields"];  // lists of keys or e-mails
  function labelled(text, control) {
    var id = "rf-" + (++uid);
    control.id = id;
    return el("div", {"class": "rf-pick"}, [el("label", {"for": id, text: text}), control]);
  }
  function select(options, value, placeholder) {
    var s = el("select");
    if (placeholder !== undefined) { s.appendChild(el("option", {value: "", text: placeholder})); }
    options.forEach(function (o) {
      var opt = el("option", {value: o[0], text: o[1]});
      if (String(o[0]) === String(value)) { opt.selected = true; }
      s.appendChild(opt);
    });
    return s;
  }
  function button(text, onClick, tone) {
    var b = el("button", {type: "button", "class": "btn btn--small " + (tone || "btn--secondary"), text: text});
    b.addEventListener("click", function () { onClick(); sync(); });
    return b;
  }
  function errorsFor(path, exact) {
    var found = [];
    Object.keys(errors).forEach(function (p) {
      if (p === path || (!exact && p.indexOf(path + ".") === 0)) {
        errors[p].forEach(function (m) { found.push(m); });
      }
    });
    return found;
  }
  function errorBox(messages) {
    if (!messages.length) { return null; }
    return el("ul", {"class": "field-error rf-errors", role: "alert"},
      messages.map(function (m) { return el("li", {text: m}); }));
  }
  function show(value) {
    if (value === undefined || value === null) { return ""; }
    return typeof value === "string" ? value : JSON.stringify(value);
  }
  function readValue(text, kind) {
    text = text.trim();
    if (text === "") { return undefined; }
    if (kind === "number") { var n = Number(text.replace(",", ".")); return isNaN(n) ? text : n; }
    if (kind === "list") { return text.split(",").map(function (x) { return x.trim(); }).filter(Boolean); }
    if (kind === "json" && /^[\[{"]/.test(text)) {
      try { return JSON.parse(text); } catch (e) { return text; }
    }
    return text;
  }

  // -- parameters (of a named condition, an action, an event) --
  function paramInput(decl, value) {
    var control, get;
    var choices = (decl.choices || []).map(function (c) { return [c.value, c.label]; });
    if (decl.type === "flag") {  // three ways: unset keeps the action's default
      control = select([["true", words.yes], ["false", words.no]],
        value === undefined || value === null ? "" : String(value), "—");
      get = function () { return control.value === "" ? undefined : control.value === "true"; };
    } else if (decl.type === "json" && LIST_PARAMS.indexOf(decl.key) >= 0 &&
               (value === undefined || Array.isArray(value))) {
      control = el("input", {type: "text", placeholder: words.comma_list});
      control.value = (value || []).join(", ");
      get = function () { return readValue(control.value, "list"); };
    } else if (decl.type === "choice" && choices.length) {
      control = select(choices, value, "—");
      get = function () { return control.value || undefined; };
    } else if (decl.type === "multi_choice" && choices.length) {
      control = select(choices, null);
      control.multiple = true;
      Array.prototype.forEach.call(control.options, function (o) {
        o.selected = (value || []).indexOf(o.value) >= 0;
      });
      get = function () {
        var v = Array.prototype.filter.call(control.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        return v.length ? v : undefined;
      };
    } else if (decl.type === "long_text" || decl.type === "json") {
      control = el("textarea", {rows: decl.type === "json" ? "2" : "3"});
      control.value = show(value);
      get = function () { return readValue(control.value, decl.type === "json" ? "json" : "text"); };
    } else if (decl.type === "multi_choice") {
      control = el("input", {type: "text", placeholder: words.comma_list});
      control.value = (value || []).join(", ");
      get = function () { return readValue(control.value, "list"); };
    } else {
      control = el("input", {type: decl.type === "number" ? "text" : "text",
        inputmode: decl.type === "number" ? "decimal" : "text"});
      control.value = show(value);
      get = function () { return readValue(control.value, decl.type === "number" ? "number" : "text"); };
    }
    control.setAttribute("data-param", decl.key);
    control.addEventListener("change", sync);
    control.addEventListener("input", sync);
    var box = labelled(decl.label + (decl.required ? " *" : ""), control);
    if (decl.help_text) { box.appendChild(el("p", {"class": "help", text: decl.help_text})); }
    return {node: box, get: get};
  }
  function paramsBlock(decls, values, path) {
    var holder = el("div", {"class": "rf-params"}), getters = [];
    decls.forEach(function (decl) {
      var input = paramInput(decl, (values || {})[decl.key]);
      var errs = errorBox(errorsFor(path + "." + decl.key));
      if (errs) { input.node.classList.add("field--error"); input.node.appendChild(errs); }
      holder.appendChild(input.node);
      getters.push([decl.key, input.get]);
    });
    return {node: holder, get: function () {
      var out = {};
      getters.forEach(function (g) { var v = g[1](); if (v !== undefined) { out[g[0]] = v; } });
      return out;
    }};
  }

  // -- events --
  var eventRows = [];
  function buildEvents(list) {
    var box = builder.querySelector("[data-rf-events]");
    box.textContent = "";
    eventRows = [];
    var chosen = {};
    (Array.isArray(list) ? list : []).forEach(function (e) {
      var spec = typeof e === "string" ? {kind: e} : e;
      if (spec && spec.kind) { chosen[spec.kind] = spec; }
    });
    var position = 0;  // the server names an event by its place among the chosen ones
    cat.events.forEach(function (e) {
      var n = chosen[e.key] ? position++ : position;
      var check = el("input", {type: "checkbox", value: e.key, "data-event": e.key});
      check.checked = !!chosen[e.key];
      var row = el("div", {"class": "rf-event"}, [el("label", {"class": "check"}, [check, el("span", {text: " " + e.label})])]);
      var opts = null;
      if (e.options.length) {
        var values = Object.assign({}, chosen[e.key] || {});
        delete values.kind;
        opts = paramsBlock(e.options, values, "events." + n);
        opts.node.hidden = !check.checked;
        row.appendChild(opts.node);
      }
      check.addEventListener("change", function () { if (opts) { opts.node.hidden = !check.checked; } sync(); });
      box.appendChild(row);
      eventRows.push({key: e.key, check: check, opts: opts});
    });
    var errs = errorBox(errorsFor("events"));
    if (errs) { box.appendChild(errs); }
  }
  function readEvents() {
    var out = [];
    eventRows.forEach(function (r) {
      if (!r.check.checked) { return; }
      var extra = r.opts ? r.opts.get() : {};
      out.push(Object.keys(extra).length ? Object.assign({kind: r.key}, extra) : r.key);
    });
    return out;
  }

  // -- conditions --
  function valueKind(op) { return ops[op] ? ops[op].value : "any"; }
  function leafRow(node, path, depth) {
    var row = el("div", {"class": "rf-row", "data-path": path});
    var kindSel = select([["field", words.kind_field], ["condition", words.kind_condition]]
      .concat(depth === 0 ? [["group", words.kind_group]] : []), node.condition ? "condition" : "field");
    var body = el("div", {"class": "rf-row__body"});
    var api = {node: row};
    function draw() {
      body.textContent = "";
      if (kindSel.value === "condition") {
        var names = cat.conditions.map(function (c) { return [c.key, c.label]; });
        var csel = select(names, node.condition, "—");
        csel.setAttribute("data-rf", "condition");
        body.appendChild(labelled(words.condition, csel));
        var params = null;
        var drawParams = function () {
          if (params) { params.node.remove(); }
          var decl = conds[csel.value];
          params = decl ? paramsBlock(decl.params, node.params, path + ".params") : null;
          if (params) { body.appendChild(params.node); }
        };
        csel.addEventListener("change", function () { node.params = {}; drawParams(); sync(); });
        drawParams();
        api.get = function () {
          var out = {condition: csel.value};
          var p = params ? params.get() : {};
          if (Object.keys(p).length) { out.params = p; }
          return out;
        };
        return;
      }
      var fsel = select(cat.fields.map(function (f) { return [f.key, f.label + " (" + f.key + ")"]; }), node.field, "—");
      var osel = select(cat.operators.map(function (o) { return [o.key, o.label]; }), node.op || "is");
      fsel.setAttribute("data-rf", "field");
      osel.setAttribute("data-rf", "op");
      var vbox = el("div", {"class": "rf-value"});
      body.appendChild(labelled(words.field, fsel));
      body.appendChild(labelled(words.operator, osel));
      body.appendChild(vbox);
      var getValue = function () { return undefined; };
      var drawValue = function () {
        vbox.textContent = "";
        var kind = valueKind(osel.value), info = fields[fsel.value] || {};
        if (kind === "none") { getValue = function () { return undefined; }; return; }
        var control;
        if (info.choices && (kind === "any" || kind === "list") && osel.value.indexOf("contains") < 0) {
          var shown = info.choice_labels || {};
          control = select(info.choices.map(function (c) { return [c, shown[c] || c]; }), null);
          control.multiple = kind === "list";
          var wanted = Array.isArray(node.value) ? node.value.map(String) : [String(node.value)];
          Array.prototype.forEach.call(control.options, function (o) { o.selected = wanted.indexOf(o.value) >= 0; });
          getValue = function () {
            var v = Array.prototype.filter.call(control.options, function (o) { return o.selected; })
              .map(function (o) { return o.value; });
            return kind === "list" ? v : v[0];
          };
        } else {
          control = el("input", {type: "text"});
          control.value = Array.isArray(node.value) ? node.value.join(", ") : show(node.value);
          if (kind === "list") { control.placeholder = words.comma_list; }
          if (kind === "when") { control.placeholder = words.when_hint; }
          getValue = function () {
            var t = control.value;
            if (kind === "list") { return readValue(t, "list") || []; }
            if (kind === "number") { return readValue(t, "number"); }
            if (kind === "when") { return readValue(t, "json"); }
            if (info.type === "number" || info.type === "flag") { return readValue(t, "json"); }
            return t;
          };
        }
        control.addEventListener("change", sync);
        control.addEventListener("input", sync);
        vbox.appendChild(labelled(words.value, control));
      };
      fsel.addEventListener("change", function () { node.value = undefined; drawValue(); sync(); });
      osel.addEventListener("change", function () { drawValue(); sync(); });
      drawValue();
      api.get = function () {
        var out = {field: fsel.value, op: osel.value}, v = getValue();
        if (v !== undefined) { out.value = v; }
        return out;
      };
    }
    kindSel.addEventListener("change", function () {
      if (kindSel.value === "group") {
        var g = groupBlock({all: []}, path, 1);
        row.replaceWith(g.node);
        Object.assign(api, g);
        sync();
        return;
      }
      node = {};
      draw();
      sync();
    });
    kindSel.setAttribute("data-rf", "kind");
    row.appendChild(labelled(words.kind, kindSel));
    row.appendChild(body);
    var remove = button(words.remove, function () { api.removed = true; api.node.remove(); }, "btn--ghost");
    row.appendChild(remove);
    var errs = errorBox(errorsFor(path));
    if (errs) { row.classList.add("rf-row--error"); row.appendChild(errs); }
    draw();
    return api;
  }
  function groupBlock(tree, path, depth) {
    var mode = tree.any ? "any" : "all";
    var box = el("fieldset", {"class": "rf-group" + (depth ? " rf-group--nested" : ""), "data-path": path});
    var modeSel = select([["all", words.all_of], ["any", words.any_of]], mode);
    modeSel.addEventListener("change", sync);
    box.appendChild(el("legend", {}, [labelled(depth ? words.group : words.conditions_hold, modeSel)]));
    var list = el("div", {"class": "rf-rows"});
    box.appendChild(list);
    var rows = [];
    var prefix = function () { return path + "." + modeSel.value; };
    (tree[mode] || []).forEach(function (child, n) {
      var r = (child.all || child.any) && depth === 0 ? groupBlock(child, path + "." + mode + "." + n, 1)
        : leafRow(child, path + "." + mode + "." + n, depth);
      rows.push(r);
      list.appendChild(r.node);
    });
    var add = button(words.add_condition, function () {
      var r = leafRow({op: "is"}, prefix() + "." + rows.length, depth);
      rows.push(r);
      list.appendChild(r.node);
    });
    var tools = el("div", {"class": "rf-tools"}, [add]);
    if (depth) {
      tools.appendChild(button(words.remove_group, function () { api.removed = true; box.remove(); }, "btn--ghost"));
    }
    box.appendChild(tools);
    var errs = errorBox(errorsFor(path, true).concat(errorsFor(path + "." + mode, true)));
    if (errs) { box.appendChild(errs); }
    var api = {node: box, get: function () {
      var out = {};
      out[modeSel.value] = rows.filter(function (r) { return r.node.isConnected; }).map(function (r) { return r.get(); });
      return out;
    }};
    return api;
  }
  var topGroup = null;
  function buildConditions(tree) {
    var box = builder.querySelector("[data-rf-conditions]");
    box.textContent = "";
    if (!tree || !Object.keys(tree).length) { tree = {all: []}; }
    if (!tree.all && !tree.any) { tree = {all: [tree]}; }
    topGroup = groupBlock(tree, "conditions", 0);
    box.appendChild(topGroup.node);
  }
  function readConditions() {
    var tree = topGroup.get(), list = tree.all || tree.any;
    return list.length ? tree : {};
  }

  // -- actions --
  var actionRows = [];
  function actionRow(item, path) {
    var row = el("div", {"class": "rf-row rf-action", "data-path": path});
    var asel = select(cat.actions.map(function (a) { return [a.key, a.label]; }), item.action, "—");
    asel.setAttribute("data-rf", "action");
    if (item.action && !acts[item.action]) {  // not offered now (e.g. no SMS gateway): keep it visible
      asel.appendChild(el("option", {value: item.action, text: item.action + " — " + words.unavailable}));
      asel.value = item.action;
    }
    row.appendChild(labelled(words.action, asel));
    var params = null;
    var api = {node: row};
    var drawParams = function () {
      if (params) { params.node.remove(); }
      var decl = acts[asel.value];
      params = decl ? paramsBlock(decl.params, item.params, path + ".params") : null;
      if (params) { row.insertBefore(params.node, remove); }
    };
    asel.addEventListener("change", function () { item.params = {}; drawParams(); sync(); });
    var remove = button(words.remove, function () { api.removed = true; row.remove(); }, "btn--ghost");
    row.appendChild(remove);
    var errs = errorBox(errorsFor(path + ".action").concat(errorsFor(path, true)));
    if (errs) { row.classList.add("rf-row--error"); row.appendChild(errs); }
    drawParams();
    api.get = function () {
      var out = {action: asel.value};
      out.params = params ? params.get() : (item.params || {});
      return out;
    };
    return api;
  }
  function buildActions(list) {
    var box = builder.querySelector("[data-rf-actions]");
    box.textContent = "";
    actionRows = [];
    var holder = el("div", {"class": "rf-rows"});
    box.appendChild(holder);
    (Array.isArray(list) ? list : []).forEach(function (item, n) {
      var r = actionRow(item || {}, "actions." + n);
      actionRows.push(r);
      holder.appendChild(r.node);
    });
    box.appendChild(el("div", {"class": "rf-tools"}, [button(words.add_action, function () {
      var r = actionRow({}, "actions." + actionRows.length);
      actionRows.push(r);
      holder.appendChild(r.node);
    })]));
    var errs = errorBox(errorsFor("actions", true));
    if (errs) { box.appendChild(errs); }
  }
  function readActions() {
    return actionRows.filter(function (r) { return r.node.isConnected; }).map(function (r) { return r.get(); });
  }

  // -- both ways between the form and the JSON --
  var mode = "json";
  function sync() {
    if (mode !== "form") { return; }
    areas.events.value = JSON.stringify(readEvents(), null, 2);
    areas.conditions.value = JSON.stringify(readConditions(), null, 2);
    areas.actions.value = JSON.stringify(readActions(), null, 2);
  }
  function parsed(area, fallback) {
    var t = area.value.trim();
    if (!t) { return fallback; }
    return JSON.parse(t);
  }
  function fits(tree, depth) {  // what the form can show: all/any groups one level deep, no "not"
    if (!tree || !Object.keys(tree).length) { return true; }
    if (tree.not) { return false; }
    var list = tree.all || tree.any;
    if (!list) { return depth === 0 || !!(tree.field || tree.condition); }
    if (depth > 1) { return false; }
    return list.every(function (c) { return fits(c, depth + 1); });
  }
  function toForm() {
    var ev, co, ac;
    try {
      ev = parsed(areas.events, []); co = parsed(areas.conditions, {}); ac = parsed(areas.actions, []);
    } catch (e) {
      return words.bad_json;
    }
    if (!fits(co, 0) || (co && !co.all && !co.any && Object.keys(co).length && !(co.field || co.condition))) {
      return words.too_deep;
    }
    buildEvents(ev); buildConditions(co); buildActions(ac);
    return null;
  }
  var notice = root.querySelector("[data-rule-notice]");
  function choose(next) {
    notice.hidden = true;
    if (next === "form") {
      var problem = toForm();
      if (problem) { notice.textContent = problem; notice.hidden = false; next = "json"; }
    }
    mode = next;
    builder.hidden = next !== "form";
    jsonPart.hidden = next === "form";
    tabs.forEach(function (t) { t.setAttribute("aria-selected", String(t.getAttribute("data-rule-tab") === next)); });
    if (next === "form") { sync(); }
  }
  tabs.forEach(function (t) {
    t.addEventListener("click", function () { choose(t.getAttribute("data-rule-tab")); });
  });
  root.querySelector("[data-rule-tabs]").hidden = false;
  form.addEventListener("submit", sync);
  choose(root.getAttribute("data-start") || "form");
})();
