// Signals: label a post through the ingestion API, look up any post's signals, the registry with each
// signal's SLO status, and a community's intent/category mix over time.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  function showError(msg) { $("error-text").textContent = msg; $("error-banner").hidden = !msg; }
  function cell(text, num) {
    var td = document.createElement("td");
    if (num) td.className = "num";
    td.textContent = text;
    return td;
  }
  function json(url, options) {
    return fetch(url, options).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) { var e = new Error(JSON.stringify(b.detail || b)); e.status = r.status; throw e; }
        return b;
      });
    });
  }
  function probs(p) {
    if (!p) return "";
    return Object.keys(p).sort(function (a, b) { return p[b] - p[a]; }).slice(0, 3)
      .map(function (k) { return k + " " + (100 * p[k]).toFixed(0) + "%"; }).join(" · ");
  }

  function renderSignals(s) {
    $("signals-panel").hidden = false;
    $("signals-title").textContent = "Signals of post " + s.id;
    var fresh = s.labelled_at && s.received_at ? " · labelled " + (s.labelled_at - s.received_at).toFixed(2) + " s after arrival" : "";
    $("signals-summary").textContent = (s.model_version || "") + (s.tier ? " (" + s.tier + ")" : "") + " · gate " + s.gate + fresh;
    var tbody = $("signals-table").tBodies[0];
    tbody.textContent = "";
    var rows = [
      ["intent", s.intent, probs(s.intent_probs)],
      ["sentiment", s.sentiment + (s.stance ? " (stance " + s.stance + ")" : ""), probs(s.sentiment_probs)],
      ["commercial", String(s.commercial), s.commercial_prob == null ? "" : (100 * s.commercial_prob).toFixed(0) + "%"],
      ["category", s.category || "–", s.category_prob == null ? "" : (100 * s.category_prob).toFixed(0) + "%"],
      ["products", (s.products || []).map(function (p) { return p.text + (p.brand ? " [" + p.brand + "]" : ""); }).join(", ") || "–", ""],
      ["brand safety", s.brand_safety + (s.brand_safety_reason ? " (" + s.brand_safety_reason + ")" : ""), probs(s.brand_safety_probs)],
    ];
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.className = "signal-row";
      r.forEach(function (v) { tr.appendChild(cell(v)); });
      tbody.appendChild(tr);
    });
  }

  function lookup(id, wait) {
    return json("/v1/posts/" + encodeURIComponent(id) + "/signals?wait=" + wait).then(renderSignals);
  }

  $("lookup-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    showError("");
    lookup($("post-id").value.trim(), 0).catch(function (e) { showError(e.message); });
  });

  $("label-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    showError("");
    var id = "console" + Date.now().toString(36);
    var post = { id: id, subreddit: $("in-community").value.trim(), title: $("in-title").value, selftext: $("in-selftext").value };
    json("/v1/posts", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ posts: [post] }) })
      .then(function () { return lookup(id, 10); })
      .catch(function (e) { showError(e.message); });
  });

  function renderRegistry(list) {
    var tbody = $("registry-table").tBodies[0];
    tbody.textContent = "";
    list.forEach(function (s) {
      var tr = document.createElement("tr");
      var st = s.slo_status || {};
      [s.name, s.version, s.status, (s.producer && s.producer.model_version) || "–",
       st.quality, st.latency_p99_ms, st.usd_per_1k_posts, st.coverage, st.psi, st.judge_kappa].forEach(function (v) { tr.appendChild(cell(v)); });
      if (Object.keys(st).some(function (k) { return String(st[k]).indexOf("BREACHED") === 0; })) tr.className = "degraded";
      tbody.appendChild(tr);
    });
  }

  function renderInsights(body) {
    var tbody = $("insights-table").tBodies[0];
    tbody.textContent = "";
    body.periods.slice(0, 24).forEach(function (p) {
      var tr = document.createElement("tr");
      function mix(m) { return Object.keys(m).sort(function (a, b) { return m[b] - m[a]; }).map(function (k) { return k + " " + m[k]; }).join(", "); }
      [p.start, String(p.posts), mix(p.intents), mix(p.categories),
       p.top_products.map(function (x) { return x.name + " " + x.posts; }).join(", ")].forEach(function (v, i) { tr.appendChild(cell(v, i === 1)); });
      tbody.appendChild(tr);
    });
  }

  $("insights-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    showError("");
    json("/v1/signals/insights?community=" + encodeURIComponent($("insights-community").value.trim()) + "&period=" + $("insights-period").value)
      .then(renderInsights).catch(function (e) { showError(e.message); });
  });

  json("/v1/signals").then(renderRegistry).catch(function (e) { showError(e.message); });
})();
