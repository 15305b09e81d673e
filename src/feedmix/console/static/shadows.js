// Shadows: GET /v1/shadows with the operator key; a row opens its report, drawn beside its noise.
(function () {
  "use strict";
  var ops = window.feedmixOps, $ = ops.$, cell = ops.cell, fmt = ops.fmt, showError = ops.showError;
  var getJson = ops.getJson;
  var SVG = "http://www.w3.org/2000/svg";
  var AGREEMENT = ["rbo", "jaccard@10", "jaccard@25", "kendall_tau", "top10_kept"];

  function renderList(rows) {
    var tbody = $("shadow-table").tBodies[0];
    tbody.textContent = "";
    if (!rows.length) {
      var tr = document.createElement("tr"), td = cell("No shadows configured ([shadows.<name>] in the config).");
      td.colSpan = 6; td.className = "empty"; tr.appendChild(td); tbody.appendChild(tr);
      return;
    }
    rows.forEach(function (s) {
      var tr = document.createElement("tr");
      tr.className = "clickable";
      [cell(s.name), cell(s.pipeline), cell((100 * s.sample_rate).toFixed(0) + "%", 1), cell(JSON.stringify(s.params)),
       cell(s.records, 1), cell(Object.keys(s.gates).join(", ") || "–")].forEach(function (td) { tr.appendChild(td); });
      tr.addEventListener("click", function () { openReport(s.name); });
      tbody.appendChild(tr);
    });
  }

  function drawAgreement(metrics) {
    var svg = $("agreement-chart");
    svg.textContent = "";
    var w = svg.clientWidth || 640, rowH = 40, left = 110;
    AGREEMENT.forEach(function (name, i) {
      var m = metrics[name];
      if (!m) return;
      var y = 10 + i * rowH;
      var label = document.createElementNS(SVG, "text");
      label.setAttribute("x", 4); label.setAttribute("y", y + 16); label.textContent = name;
      svg.appendChild(label);
      [["candidate", "#4a7bd0", 0], ["noise", "#9aa5b1", 16]].forEach(function (arm) {
        var v = m[arm[0]];
        if (v == null) return;
        var rect = document.createElementNS(SVG, "rect");
        rect.setAttribute("x", left); rect.setAttribute("y", y + arm[2]);
        rect.setAttribute("width", Math.max(1, (w - left - 60) * Math.max(0, Math.min(1, v))));
        rect.setAttribute("height", 14); rect.setAttribute("fill", arm[1]);
        var title = document.createElementNS(SVG, "title");
        title.textContent = arm[0] + ": " + fmt(v);
        rect.appendChild(title);
        svg.appendChild(rect);
      });
    });
  }

  var ARM_COLORS = { production: "#2e3440", candidate: "#4a7bd0", noise: "#9aa5b1" };

  function drawDistributions(dists) {
    var box = $("distribution-charts");
    box.textContent = "";
    Object.keys(dists).forEach(function (name) {
      var d = dists[name], arms = Object.keys(d.shares), bins = d.shares.production.length;
      var title = document.createElement("p");
      title.className = "muted";
      title.textContent = name + " (" + bins + " bins)";
      box.appendChild(title);
      var svg = document.createElementNS(SVG, "svg");
      svg.setAttribute("width", "100%"); svg.setAttribute("height", "120");
      svg.setAttribute("role", "img"); svg.setAttribute("aria-label", name + " distribution");
      box.appendChild(svg);
      var w = svg.clientWidth || 640, h = 110, slot = (w - 20) / bins, bw = Math.max(1, slot / (arms.length + 1));
      var max = 0;
      arms.forEach(function (a) { d.shares[a].forEach(function (v) { max = Math.max(max, v); }); });
      arms.forEach(function (a, k) {
        d.shares[a].forEach(function (v, i) {
          var rect = document.createElementNS(SVG, "rect"), bh = max ? (h - 10) * v / max : 0;
          rect.setAttribute("x", 10 + i * slot + k * bw); rect.setAttribute("width", bw);
          rect.setAttribute("y", h - bh); rect.setAttribute("height", bh);
          rect.setAttribute("fill", ARM_COLORS[a] || "#888");
          var t = document.createElementNS(SVG, "title");
          t.textContent = a + ", bin " + (i + 1) + ": " + (100 * v).toFixed(1) + "%";
          rect.appendChild(t);
          svg.appendChild(rect);
        });
      });
    });
  }

  function renderReport(body) {
    var r = body.report;
    $("report-title").textContent = body.name;
    var verdict = body.gates ? (body.gates.passed ? "gates passed" : "gates FAILED") : "no gates";
    $("report-summary").textContent = r.requests + " requests compared, " + r.requests_with_noise + " with the noise arm · " + verdict;
    drawAgreement(r.metrics);
    drawDistributions(body.distributions || {});
    var tbody = $("report-table").tBodies[0];
    tbody.textContent = "";
    Object.keys(r.metrics).forEach(function (name) {
      var m = r.metrics[name], tr = document.createElement("tr");
      [cell(m.group), cell(name), cell(fmt(m.baseline), 1), cell(fmt(m.candidate), 1), cell(fmt(m.noise), 1),
       cell(m.unit || ""), cell(m.closer || "")].forEach(function (td) { tr.appendChild(td); });
      tbody.appendChild(tr);
    });
    $("report-panel").hidden = false;
  }

  function openReport(name) {
    var url = "/v1/shadows/" + encodeURIComponent(name) + "/report" + ($("replay-input").checked ? "?replay=true" : "");
    getJson(url).then(function (b) { showError(""); renderReport(b); })
      .catch(function (e) { showError(String(e.message || e)); });
  }

  function load(ev) {
    if (ev) ev.preventDefault();
    if (!$("key-input").value.trim()) { showError("The operator key is needed (the demo prints it)."); return; }
    getJson("/v1/shadows").then(function (b) { showError(""); renderList(b.shadows); })
      .catch(function (e) { showError(String(e.message || e)); });
  }

  $("shadow-controls").addEventListener("submit", load);
})();
