// Models: the ranker's registered versions with their offline AUCs next to the heuristic's, which one
// serves, promote a version or roll back the last promotion (operator key).
(function () {
  "use strict";
  var ops = window.feedmixOps, $ = ops.$, cell = ops.cell, fmt = ops.fmt, showError = ops.showError;
  var HEADS = ["click", "upvote", "comment", "hide"];
  function day(ts) { return new Date(ts * 1000).toISOString().slice(0, 10); }

  function post(url) {
    return fetch(url, { method: "POST", headers: ops.headers() }).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(JSON.stringify(b.detail || b)); return b; });
    });
  }

  function render(data) {
    $("models-meta").textContent = data.versions.length + " versions · serving " + (data.promoted || "the heuristic");
    $("rollback-btn").disabled = data.history.length < 2;
    var tbody = $("models-table").tBodies[0];
    tbody.textContent = "";
    if (!data.versions.length) {
      var tr = document.createElement("tr"), td = cell("No model registered yet: feedmix train --promote");
      td.colSpan = 6; td.className = "empty"; tr.appendChild(td); tbody.appendChild(tr);
    }
    data.versions.slice().reverse().forEach(function (v) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-version", v.version);
      if (v.promoted) tr.className = "promoted";
      var aucs = HEADS.filter(function (h) { return v.metrics[h + ".auc"] !== undefined; }).map(function (h) {
        return h + " " + fmt(v.metrics[h + ".auc"], 3) + " (" + fmt(v.metrics[h + ".heuristic_auc"], 3) + ")";
      }).join(" · ");
      var action = document.createElement("td");
      if (v.promoted) {
        action.textContent = "serving";
        action.className = "strong";
      } else {
        var btn = document.createElement("button");
        btn.type = "button"; btn.textContent = "Promote"; btn.className = "promote-btn";
        btn.addEventListener("click", function () {
          post("/v1/models/" + encodeURIComponent(v.version) + "/promote").then(list).catch(function (e) { showError(String(e.message || e)); });
        });
        action.appendChild(btn);
      }
      [cell(v.version), cell(day(v.data_start_ts) + " – " + day(v.data_end_ts)), cell(v.rows, 1), cell(aucs),
       cell(v.code), action].forEach(function (td) { tr.appendChild(td); });
      tbody.appendChild(tr);
    });
    var hist = $("history");
    hist.textContent = "";
    data.history.slice().reverse().forEach(function (e) {
      var li = document.createElement("li");
      li.textContent = new Date(e.at * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC · " + e.action +
        " " + e.version + (e.previous ? " (was " + e.previous + ")" : "");
      hist.appendChild(li);
    });
  }

  function list(ev) {
    if (ev && ev.preventDefault) ev.preventDefault();
    ops.getJson("/v1/models").then(function (d) { showError(""); render(d); })
      .catch(function (e) { showError(String(e.message || e)); });
  }

  $("models-controls").addEventListener("submit", list);
  $("rollback-btn").addEventListener("click", function () {
    post("/v1/models/rollback").then(list).catch(function (e) { showError(String(e.message || e)); });
  });
})();
