// The components page: every pipeline drawn as its stages, and every component's columns and params
// (GET /v1/pipelines). Picking a component in the drawing jumps to its row.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var pipelines = [];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "className") node.className = attrs[k];
      else if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function showError(msg) { $("error-text").textContent = msg; $("error-banner").hidden = false; }

  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toPrecision(3);
    return String(v);
  }

  function paramText(p) {
    var bounds = p.choices ? " {" + p.choices.join(", ") + "}" :
      (p.min !== null || p.max !== null ? " [" + fmt(p.min) + ", " + fmt(p.max) + "]" : "");
    var changed = JSON.stringify(p.current) !== JSON.stringify(p.default);
    return el("div", { className: "param" + (changed ? " changed" : ""), title: p.description }, [
      el("span", { className: "mono", text: p.param + " = " + fmt(p.current) }),
      el("span", { className: "muted", text: (changed ? " (default " + fmt(p.default) + ")" : "") + bounds }),
    ]);
  }

  function matches(c, needle) {
    if (!needle) return true;
    var hay = [c.id, c.type, c.owner].concat(c.params.map(function (p) { return p.name; })).join(" ").toLowerCase();
    return hay.indexOf(needle) >= 0;
  }

  function render() {
    var p = pipelines.filter(function (x) { return x.name === $("pipeline-select").value; })[0];
    if (!p) return;
    var needle = $("filter-input").value.trim().toLowerCase();
    var count = p.stages.reduce(function (n, s) { return n + s.components.length; }, 0);
    $("pipeline-meta").textContent = "pipeline " + p.name + " · surface " + p.surface + " · " + count + " components";
    var stages = $("stages");
    stages.textContent = "";
    p.stages.forEach(function (s, i) {
      if (i > 0) stages.appendChild(el("div", { className: "stage-arrow", text: "→" }));
      var box = el("div", { className: "stage-box", "data-stage": s.stage }, [el("div", { className: "stage-title", text: s.stage })]);
      s.components.forEach(function (c) {
        var chip = el("button", { type: "button", className: "comp-chip" + (c.essential ? " essential" : ""),
          title: c.type + " · owner " + c.owner + (c.essential ? " · essential" : ""), "data-id": c.id }, [c.id]);
        if (!matches(c, needle)) chip.classList.add("dim");
        chip.addEventListener("click", function () {
          var row = document.querySelector('tr[data-id="' + c.id + '"]');
          if (row) { row.classList.add("highlight"); row.scrollIntoView({ block: "center" }); }
        });
        box.appendChild(chip);
      });
      stages.appendChild(box);
    });
    var tbody = document.querySelector("#components-table tbody");
    tbody.textContent = "";
    p.stages.forEach(function (s) {
      s.components.filter(function (c) { return matches(c, needle); }).forEach(function (c) {
        var io = el("div", { className: "mono" }, [
          el("div", { text: "reads " + (c.reads.concat(c.reads_query).join(", ") || "–") }),
          el("div", { text: "writes " + (c.writes.concat(c.writes_query).join(", ") || "–") }),
        ]);
        tbody.appendChild(el("tr", { "data-id": c.id }, [
          el("td", { text: s.stage }),
          el("td", {}, [el("span", { className: "strong", text: c.id }), el("div", { className: "muted mono", text: c.type + (c.essential ? " · essential" : "") })]),
          el("td", {}, [el("span", { className: "owner", text: c.owner })]),
          el("td", {}, [io]),
          el("td", {}, c.params.map(paramText)),
        ]));
      });
    });
  }

  fetch("/v1/pipelines", { headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error("GET /v1/pipelines: HTTP " + r.status); return r.json(); })
    .then(function (data) {
      pipelines = data.pipelines;
      var sel = $("pipeline-select");
      sel.textContent = "";
      pipelines.forEach(function (p) { sel.appendChild(el("option", { value: p.name, text: p.name + " (" + p.surface + ")" })); });
      var wanted = new URLSearchParams(location.search).get("pipeline");
      if (wanted) sel.value = wanted;
      render();
    })
    .catch(function (e) { showError(String(e.message || e)); });
  $("pipeline-select").addEventListener("change", render);
  $("filter-input").addEventListener("input", render);
})();
