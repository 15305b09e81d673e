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

  var SVG = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function renderOverview(body) {
    $("overview-panel").hidden = false;
    $("pacing-panel").hidden = false;
    $("report-panel").hidden = true;
    $("report-table-panel").hidden = true;
    var t = body.totals;
    $("overview-meta").textContent = body.day + " (UTC) · " + t.campaigns + " campaigns, " + t.spending +
      " spending · " + usd(t.spend_micros) + " of " + usd(t.daily_budget_micros) + " active daily budget";
    var tbody = $("overview-table").tBodies[0];
    tbody.textContent = "";
    body.campaigns.forEach(function (c) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-campaign", c.campaign_id);
      var share = c.spend_share == null ? 0 : Math.min(c.spend_share, 1.5);
      var barCell = document.createElement("td");
      var track = document.createElement("span");
      track.className = "bar-track budget-track";
      var bar = document.createElement("span");
      bar.className = "bar" + (c.spend_share > 1 ? " over" : "");
      bar.style.width = (100 * share / 1.5).toFixed(1) + "%";
      track.appendChild(bar);
      barCell.appendChild(track);
      barCell.appendChild(document.createTextNode(" " + pct(c.spend_share)));
      [cell(c.advertiser), cell(c.campaign + (c.status !== "active" ? " (" + c.status + ")" : "")),
       cell(usd(c.daily_budget_micros), 1), cell(usd(c.spend_micros), 1), barCell,
       cell(c.impressions, 1), cell(c.clicks, 1), cell(pct(c.ctr), 1)].forEach(function (td) { tr.appendChild(td); });
      tbody.appendChild(tr);
    });
    renderPacing(body.campaigns.filter(function (c) { return c.spend_micros > 0; }).slice(0, 12), body.hours);
  }

  function renderPacing(campaigns, hours) {
    var svg = $("pacing-chart");
    svg.textContent = "";
    var w = svg.clientWidth || 800, h = 240, pad = 30, top = 1.5;
    function x(hour) { return pad + (w - 2 * pad) * hour / 24; }
    function y(share) { return h - pad - (h - 2 * pad) * Math.min(share, top) / top; }
    svg.appendChild(svgEl("line", { x1: x(0), y1: y(0), x2: x(24), y2: y(1), stroke: "#9aa3ad", "stroke-dasharray": "5 4" }));
    [0, 6, 12, 18, 24].forEach(function (hr) {
      var label = svgEl("text", { x: x(hr), y: h - 8, "font-size": 10, fill: "#6b7682", "text-anchor": "middle" });
      label.textContent = hr + "h";
      svg.appendChild(label);
    });
    [0.5, 1].forEach(function (s) {
      var label = svgEl("text", { x: 4, y: y(s) + 3, "font-size": 10, fill: "#6b7682" });
      label.textContent = (100 * s) + "%";
      svg.appendChild(label);
    });
    campaigns.forEach(function (c, i) {
      var pts = c.pacing_cumulative_micros.slice(0, hours).map(function (m, hr) {
        return x(hr + 1).toFixed(1) + "," + y(c.daily_budget_micros > 0 ? m / c.daily_budget_micros : 0).toFixed(1);
      });
      var path = svgEl("polyline", { points: x(0) + "," + y(0) + " " + pts.join(" "), fill: "none",
        stroke: "hsl(" + (i * 47 % 360) + ",60%,45%)", "stroke-width": 1.6, "class": "pacing-line" });
      var title = svgEl("title", {});
      title.textContent = c.campaign + ": " + usd(c.spend_micros) + " of " + usd(c.daily_budget_micros);
      path.appendChild(title);
      svg.appendChild(path);
    });
  }

  function load(ev) {
    if (ev) ev.preventDefault();
    var key = $("key-input").value.trim();
    if (!key) { showError("An operator or advertiser key is needed."); return; }
    fetch("/v1/ads/overview", { headers: { Authorization: "Bearer " + key } })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); })
      .then(function (res) {
        if (res.ok) { showError(""); renderOverview(res.body); return; }
        advertiserReport(key);  // not the operator key: an advertiser's own report
      })
      .catch(function (e) { showError(String(e)); });
  }

  function advertiserReport(key) {
    $("overview-panel").hidden = true;
    $("pacing-panel").hidden = true;
    $("report-panel").hidden = false;
    $("report-table-panel").hidden = false;
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
  // the demo prints a link whose fragment carries the key: the fragment never reaches the server
  var fromLink = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fromLink) {
    $("key-input").value = fromLink;
    history.replaceState(null, "", location.pathname);
    load();
  }
})();
