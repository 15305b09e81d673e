// Advertiser reporting: GET /v1/ads/reports with the advertiser's key, as a table and a spend chart.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  function usd(micros) { return micros == null ? "–" : "$" + (micros / 1e6).toFixed(2); }
  function pct(x) { return x == null ? "–" : (100 * x).toFixed(2) + "%"; }
  function iso(d) { return d.toISOString().slice(0, 10); }
  function cell(text, num) {
    var td = document.createElement("td");
    if (num) td.className = "num";
    td.textContent = text;
    return td;
  }
  function showError(msg) { $("error-text").textContent = msg; $("error-banner").hidden = !msg; }

  function renderTable(rows) {
    var tbody = $("report-table").tBodies[0];
    tbody.textContent = "";
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = cell("No delivery in this range.");
      td.colSpan = 8; td.className = "empty"; tr.appendChild(td); tbody.appendChild(tr);
      return;
    }
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      [cell(r.day), cell(r.campaign_id), cell(r.impressions, 1), cell(r.clicks, 1), cell(pct(r.ctr), 1),
       cell(usd(r.spend_micros), 1), cell(usd(r.cpc_micros), 1), cell(usd(r.ecpm_micros), 1)]
        .forEach(function (td) { tr.appendChild(td); });
      tbody.appendChild(tr);
    });
  }

  function renderChart(rows) {
    var svg = $("spend-chart");
    svg.textContent = "";
    var byDay = {};
    rows.forEach(function (r) { byDay[r.day] = (byDay[r.day] || 0) + r.spend_micros; });
    var days = Object.keys(byDay).sort();
    if (!days.length) return;
    var w = svg.clientWidth || 600, h = 180, pad = 24;
    var max = Math.max.apply(null, days.map(function (d) { return byDay[d]; })) || 1;
    var bw = (w - 2 * pad) / days.length;
    days.forEach(function (d, i) {
      var bh = (h - 2 * pad) * byDay[d] / max;
      var rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      rect.setAttribute("x", pad + i * bw + 2); rect.setAttribute("width", Math.max(bw - 4, 1));
      rect.setAttribute("y", h - pad - bh); rect.setAttribute("height", bh);
      rect.setAttribute("fill", "#4a7bd0");
      var title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = d + ": " + usd(byDay[d]);
      rect.appendChild(title);
      svg.appendChild(rect);
    });
  }

  function load(ev) {
    if (ev) ev.preventDefault();
    var key = $("key-input").value.trim();
    if (!key) { showError("An advertiser API key is needed."); return; }
    var url = "/v1/ads/reports?start=" + $("start-input").value + "&end=" + $("end-input").value;
    fetch(url, { headers: { Authorization: "Bearer " + key } })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (!res.ok) { showError(JSON.stringify(res.body.detail || res.body)); return; }
        showError("");
        renderTable(res.body.rows || []);
        renderChart(res.body.rows || []);
      })
      .catch(function (e) { showError(String(e)); });
  }

  var today = new Date();
  $("end-input").value = iso(today);
  $("start-input").value = iso(new Date(today.getTime() - 13 * 86400000));
  $("ads-controls").addEventListener("submit", load);
})();
