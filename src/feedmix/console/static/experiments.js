// Experiments: GET /v1/experiments with the operator key; a row opens its analysis and plot.
(function () {
  "use strict";
  var ops = window.feedmixOps, $ = ops.$, cell = ops.cell, fmt = ops.fmt, showError = ops.showError;
  var getJson = ops.getJson, headers = ops.headers;
  function pct(x) { return x == null ? "–" : (100 * x).toFixed(0) + "%"; }

  function renderList(rows) {
    var tbody = $("exp-table").tBodies[0];
    tbody.textContent = "";
    if (!rows.length) {
      var tr = document.createElement("tr"), td = cell("No experiments yet: feedmix experiments create ...");
      td.colSpan = 8; td.className = "empty"; tr.appendChild(td); tbody.appendChild(tr);
      return;
    }
    rows.forEach(function (e) {
      var tr = document.createElement("tr");
      tr.className = "clickable";
      [cell(e.experiment_id), cell(e.status), cell(e.layer), cell(pct(e.allocation), 1), cell(pct(e.coverage), 1),
       cell(e.bucket_version, 1), cell(e.variants.map(function (v) { return v.name; }).join(", ")),
       cell(e.primary_metric)].forEach(function (td) { tr.appendChild(td); });
      tr.addEventListener("click", function () { analyze(e.experiment_id); });
      tbody.appendChild(tr);
    });
  }

  function renderAnalysis(report) {
    var exp = report.experiment, control = exp.variants[0].name;
    $("analysis-title").textContent = exp.experiment_id + " (" + exp.status + ", bucket v" + exp.bucket_version + ")";
    var srm = report.srm ? "SRM p " + fmt(report.srm.p_value, 4) + (report.srm.alarm ? " ALARM" : "") : "SRM: not yet";
    $("analysis-summary").textContent = "exposed " + JSON.stringify(report.exposed) + " · " + srm +
      (report.warnings.length ? " · " + report.warnings.join("; ") : "");
    var tbody = $("analysis-table").tBodies[0];
    tbody.textContent = "";
    report.metrics.forEach(function (m) {
      Object.keys(m.comparisons).forEach(function (variant) {
        var c = m.comparisons[variant], av = c.always_valid || {};
        var tr = document.createElement("tr");
        if (c.guardrail_breached) tr.className = "degraded";
        [cell(m.metric + (c.significant ? " *" : "")), cell(m.role), cell(variant), cell(fmt(m.arms[control].value), 1),
         cell(fmt(c.diff), 1), cell("[" + fmt(c.ci_low) + ", " + fmt(c.ci_high) + "]", 1),
         cell("[" + fmt(av.ci_low) + ", " + fmt(av.ci_high) + "]", 1), cell(fmt(c.p_value_bh, 3), 1),
         cell(c.cuped ? pct(c.cuped.variance_reduction) : "–", 1)].forEach(function (td) { tr.appendChild(td); });
        tbody.appendChild(tr);
      });
    });
    $("analysis-panel").hidden = false;
  }

  function analyze(id) {
    var base = "/v1/experiments/" + encodeURIComponent(id);
    getJson(base + "/analysis").then(function (report) {
      showError("");
      renderAnalysis(report);
      return fetch(base + "/analysis.png", { headers: headers() });
    }).then(function (r) { return r.blob(); })
      .then(function (blob) { $("analysis-plot").src = URL.createObjectURL(blob); })
      .catch(function (e) { showError(String(e.message || e)); });
  }

  function load(ev) {
    if (ev) ev.preventDefault();
    if (!$("key-input").value.trim()) { showError("The operator key is needed (the demo prints it)."); return; }
    getJson("/v1/experiments").then(function (b) { showError(""); renderList(b.experiments); })
      .catch(function (e) { showError(String(e.message || e)); });
  }

  $("exp-controls").addEventListener("submit", load);
})();
