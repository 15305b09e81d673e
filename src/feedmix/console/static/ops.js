// Ops: the process's own /metrics scraped every few seconds and turned into rates, latency percentiles
// (from histogram bucket deltas), error rates and CPU per request per component and team; and the cost
// of the latest load run (GET /v1/ops/load-run). Nothing is stored: the page keeps its own history.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var first = null, prev = null, history = [], timer = null;

  function showError(msg) { $("error-text").textContent = msg; $("error-banner").hidden = !msg; }
  function fmt(x, d) { return x == null || !isFinite(x) ? "–" : Number(x).toFixed(d == null ? 2 : d); }
  function cell(text, num) { var td = document.createElement("td"); if (num) td.className = "num"; td.textContent = text; return td; }
  function row(tbody, cells) { var tr = document.createElement("tr"); cells.forEach(function (c) { tr.appendChild(c); }); tbody.appendChild(tr); return tr; }

  // Prometheus text format: name{a="x",b="y"} value
  function parse(text) {
    var out = [];
    text.split("\n").forEach(function (line) {
      if (!line || line[0] === "#") return;
      var m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m) return;
      var labels = {};
      (m[3] || "").replace(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g, function (_, k, v) { labels[k] = v; return ""; });
      out.push({ name: m[1], labels: labels, value: parseFloat(m[4]) });
    });
    return { at: Date.now() / 1000, samples: out };
  }

  function sum(snap, name, keyOf) {
    var out = {};
    snap.samples.forEach(function (s) {
      if (s.name !== name) return;
      var k = keyOf(s.labels);
      if (k == null) return;
      out[k] = (out[k] || 0) + s.value;
    });
    return out;
  }
  function delta(a, b) { var out = {}; Object.keys(b).forEach(function (k) { out[k] = b[k] - (a[k] || 0); }); return out; }

  function quantile(bucketsA, bucketsB, q) {
    // cumulative bucket deltas {le: count}; linear inside the bucket that crosses q. The keys are the
    // exposition's own strings ("1.0", "+Inf"), sorted by their value
    var keys = Object.keys(bucketsB).filter(function (k) { return k !== "+Inf"; })
      .sort(function (x, y) { return parseFloat(x) - parseFloat(y); });
    var total = (bucketsB["+Inf"] || 0) - (bucketsA["+Inf"] || 0);
    if (total <= 0) return null;
    var want = q * total, lo = 0, prevCount = 0;
    for (var i = 0; i < keys.length; i++) {
      var le = parseFloat(keys[i]);
      var c = (bucketsB[keys[i]] || 0) - (bucketsA[keys[i]] || 0);
      if (c >= want) {
        var inBucket = c - prevCount;
        return 1000 * (inBucket > 0 ? lo + (le - lo) * (want - prevCount) / inBucket : le);
      }
      lo = le; prevCount = c;
    }
    return 1000 * lo;
  }
  function buckets(snap, name, pipeline) {
    var out = {};
    snap.samples.forEach(function (s) {
      if (s.name === name && (pipeline == null || s.labels.pipeline === pipeline)) {
        out[s.labels.le] = (out[s.labels.le] || 0) + s.value;
      }
    });
    return out;
  }

  function renderPipelines(a, b) {
    var dt = b.at - a.at;
    var reqs = delta(sum(a, "feedmix_pipeline_requests_total", function (l) { return l.pipeline; }),
      sum(b, "feedmix_pipeline_requests_total", function (l) { return l.pipeline; }));
    var cpu = delta(sum(a, "feedmix_pipeline_cpu_seconds_total", function (l) { return l.pipeline; }),
      sum(b, "feedmix_pipeline_cpu_seconds_total", function (l) { return l.pipeline; }));
    var degraded = delta(sum(a, "feedmix_pipeline_degraded_total", function (l) { return l.pipeline; }),
      sum(b, "feedmix_pipeline_degraded_total", function (l) { return l.pipeline; }));
    var tbody = $("pipelines-table").tBodies[0];
    tbody.textContent = "";
    Object.keys(reqs).sort().forEach(function (p) {
      var n = reqs[p];
      var hA = buckets(a, "feedmix_pipeline_latency_seconds_bucket", p), hB = buckets(b, "feedmix_pipeline_latency_seconds_bucket", p);
      row(tbody, [cell(p), cell(fmt(n, 0), 1), cell(fmt(n / dt, 2), 1), cell(fmt(quantile(hA, hB, 0.5)), 1),
        cell(fmt(quantile(hA, hB, 0.99)), 1), cell(n > 0 ? fmt(1000 * (cpu[p] || 0) / n) : "–", 1),
        cell(n > 0 ? fmt(100 * (degraded[p] || 0) / n, 1) + "%" : "–", 1)]).setAttribute("data-pipeline", p);
    });
    if (!tbody.rows.length) row(tbody, [cell("No pipeline has run since this page opened.")]);
  }

  function renderHttp(a, b) {
    function key(l) { return l.handler + "\t" + l.code; }
    var d = delta(sum(a, "feedmix_http_responses_total", key), sum(b, "feedmix_http_responses_total", key));
    var routes = {};
    Object.keys(d).forEach(function (k) {
      var parts = k.split("\t"), r = routes[parts[0]] = routes[parts[0]] || { total: 0 };
      r[parts[1]] = (r[parts[1]] || 0) + d[k]; r.total += d[k];
    });
    var tbody = $("http-table").tBodies[0];
    tbody.textContent = "";
    Object.keys(routes).sort(function (x, y) { return routes[y].total - routes[x].total; }).forEach(function (route) {
      var r = routes[route];
      if (r.total <= 0) return;
      row(tbody, [cell(route), cell(fmt(r.total, 0), 1), cell(fmt(r["2xx"] || 0, 0), 1), cell(fmt(r["4xx"] || 0, 0), 1),
        cell(fmt(r["5xx"] || 0, 0), 1), cell(fmt(100 * (r["5xx"] || 0) / r.total, 2) + "%", 1)]);
    });
  }

  function renderLiveCost(a, b) {
    var price = parseFloat($("price-input").value) || 0;
    var reqs = delta(sum(a, "feedmix_pipeline_requests_total", function (l) { return l.pipeline; }),
      sum(b, "feedmix_pipeline_requests_total", function (l) { return l.pipeline; }));
    var totalReqs = Object.keys(reqs).reduce(function (s, k) { return s + reqs[k]; }, 0);
    function key(l) { return l.pipeline + "\t" + l.component + "\t" + l.owner; }
    var cpu = delta(sum(a, "feedmix_component_cpu_seconds_total", key), sum(b, "feedmix_component_cpu_seconds_total", key));
    var fails = delta(sum(a, "feedmix_component_failures_total", function (l) { return l.pipeline + "\t" + l.component; }),
      sum(b, "feedmix_component_failures_total", function (l) { return l.pipeline + "\t" + l.component; }));
    var teams = {}, comps = [];
    Object.keys(cpu).forEach(function (k) {
      var p = k.split("\t"), n = reqs[p[0]] || 0;
      if (n <= 0 || cpu[k] <= 0) return;
      comps.push({ pipeline: p[0], component: p[1], owner: p[2], ms: 1000 * cpu[k] / n, fails: fails[p[0] + "\t" + p[1]] || 0 });
      teams[p[2]] = (teams[p[2]] || 0) + cpu[k];
    });
    var tt = $("live-teams-table").tBodies[0];
    tt.textContent = "";
    Object.keys(teams).sort(function (x, y) { return teams[y] - teams[x]; }).forEach(function (t) {
      var ms = totalReqs > 0 ? 1000 * teams[t] / totalReqs : 0;
      row(tt, [cell(t), cell(fmt(ms, 3), 1), cell(fmt(ms / 1000 * 1000 / 3600 * price, 6), 1)]);
    });
    var ct = $("live-components-table").tBodies[0];
    ct.textContent = "";
    comps.sort(function (x, y) { return y.ms - x.ms; }).slice(0, 15).forEach(function (c) {
      row(ct, [cell(c.pipeline), cell(c.component), cell(c.owner), cell(fmt(c.ms, 3), 1), cell(fmt(c.fails, 0), 1)]);
    });
  }

  function renderChart() {
    var svg = $("latency-chart");
    svg.textContent = "";
    var w = svg.clientWidth || 800, h = 200, pad = 34;
    var pts = history.slice(-60);
    if (pts.length < 2) return;
    var max = Math.max.apply(null, pts.map(function (p) { return p.p99 || 0; }).concat([1]));
    var NS = "http://www.w3.org/2000/svg";
    function line(key, dash, color) {
      var el = document.createElementNS(NS, "polyline");
      el.setAttribute("points", pts.map(function (p, i) {
        return (pad + (w - 2 * pad) * i / (pts.length - 1)).toFixed(1) + "," + (h - pad - (h - 2 * pad) * (p[key] || 0) / max).toFixed(1);
      }).join(" "));
      el.setAttribute("fill", "none"); el.setAttribute("stroke", color); el.setAttribute("stroke-width", "1.6");
      if (dash) el.setAttribute("stroke-dasharray", "5 4");
      el.setAttribute("class", "latency-line");
      svg.appendChild(el);
    }
    line("p50", false, "#2f6fde");
    line("p99", true, "#c0392b");
    var label = document.createElementNS(NS, "text");
    label.setAttribute("x", 4); label.setAttribute("y", pad - 6); label.setAttribute("font-size", 10); label.setAttribute("fill", "#6b7682");
    label.textContent = fmt(max, 1) + " ms";
    svg.appendChild(label);
  }

  function scrape() {
    return fetch("/metrics").then(function (r) {
      if (!r.ok) throw new Error("GET /metrics: HTTP " + r.status);
      return r.text();
    }).then(function (text) {
      var snap = parse(text);
      if (first === null) { first = snap; prev = snap; return; }
      var hA = buckets(prev, "feedmix_pipeline_latency_seconds_bucket"), hB = buckets(snap, "feedmix_pipeline_latency_seconds_bucket");
      history.push({ at: snap.at, p50: quantile(hA, hB, 0.5), p99: quantile(hA, hB, 0.99) });
      prev = snap;
      showError("");
      renderPipelines(first, snap);
      renderHttp(first, snap);
      renderLiveCost(first, snap);
      renderChart();
    }).catch(function (e) { showError(String(e.message || e)); });
  }

  function loadRun() {
    fetch("/v1/ops/load-run").then(function (r) {
      return r.json().then(function (b) { return { ok: r.ok, body: b }; });
    }).then(function (res) {
      if (!res.ok) { $("run-meta").textContent = res.body.detail || "no load run"; return; }
      var run = res.body.run, cost = res.body.cost || {};
      var lat = run.latency_ms || {};
      $("run-meta").textContent = new Date(res.body.saved_at * 1000).toISOString().slice(0, 16).replace("T", " ") +
        " UTC · " + run.requests + " requests at " + fmt(run.rate_rps, 0) + " req/s · p50 " + fmt(lat.p50, 1) +
        " ms, p99 " + fmt(lat.p99, 1) + " ms · " + fmt(cost.usd_per_1k_requests, 6) + " USD per 1,000 requests";
      var tt = $("run-teams-table").tBodies[0];
      tt.textContent = "";
      (cost.teams || []).forEach(function (t) { row(tt, [cell(t.owner), cell(fmt(t.cpu_ms_per_request, 3), 1), cell(fmt(t.usd_per_1k_requests, 6), 1)]); });
      var ct = $("run-components-table").tBodies[0];
      ct.textContent = "";
      (cost.components || []).slice(0, 15).forEach(function (c) {
        row(ct, [cell(c.pipeline), cell(c.component), cell(c.owner), cell(fmt(c.cpu_ms_per_request, 3), 1), cell(fmt(c.usd_per_1k_requests, 6), 1)]);
      });
    }).catch(function (e) { showError(String(e.message || e)); });
  }

  function restart() {
    if (timer) clearInterval(timer);
    timer = setInterval(scrape, parseInt($("interval-select").value, 10));
  }
  $("interval-select").addEventListener("change", restart);
  $("price-input").addEventListener("input", function () { if (first && prev) renderLiveCost(first, prev); });
  scrape();
  loadRun();
  restart();
})();
