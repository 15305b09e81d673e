// Side by side: one user's page under two param sets (POST /v1/compare), each post with its rank on the
// other side, the posts only one side shows marked, and the overlap measures the shadows use.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };

  function parseParams(text) {
    var out = {};
    text.split("\n").map(function (l) { return l.trim(); }).filter(Boolean).forEach(function (line) {
      var at = line.indexOf("=");
      if (at < 1) throw new Error("not name=value: " + line);
      out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    });
    return out;
  }
  function showError(msg) { $("error-text").textContent = msg; $("error-banner").hidden = !msg; }
  function fmt(x) { return x == null ? "–" : Number(x).toFixed(3); }

  function renderList(id, items, otherRank) {
    var list = $(id);
    list.textContent = "";
    items.filter(function (it) { return it.kind === "post"; }).forEach(function (it, i) {
      var li = document.createElement("li");
      var other = otherRank[it.id];
      var shift = document.createElement("span");
      if (other === undefined) { li.className = "only-here"; shift.textContent = "only here"; shift.className = "shift new"; }
      else if (other === i) { shift.textContent = "="; shift.className = "shift same"; }
      else { shift.textContent = (other > i ? "▲" : "▼") + Math.abs(other - i); shift.className = "shift " + (other > i ? "up" : "down"); }
      li.setAttribute("data-id", it.id);
      var title = document.createElement("span");
      title.className = "compare-title";
      title.textContent = it.title;
      var meta = document.createElement("span");
      meta.className = "muted mono";
      meta.textContent = " r/" + it.community + " · " + fmt(it.score) + " · " + it.source;
      li.appendChild(shift); li.appendChild(title); li.appendChild(meta);
      list.appendChild(li);
    });
  }

  function renderDistributions(a, b) {
    var svg = $("score-dist");
    svg.textContent = "";
    $("dist-panel").hidden = false;
    function scores(items) { return items.filter(function (it) { return it.kind === "post"; }).map(function (it) { return it.score; }); }
    var sa = scores(a), sb = scores(b), all = sa.concat(sb);
    if (!all.length) return;
    var lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
    if (hi <= lo) hi = lo + 1;
    var bins = 20, w = svg.clientWidth || 800, h = 150, pad = 24, NS = "http://www.w3.org/2000/svg";
    function hist(xs) {
      var c = new Array(bins).fill(0);
      xs.forEach(function (x) { c[Math.min(bins - 1, Math.floor((x - lo) / (hi - lo) * bins))] += 1; });
      return c;
    }
    var ha = hist(sa), hb = hist(sb), top = Math.max.apply(null, ha.concat(hb).concat([1]));
    var bw = (w - 2 * pad) / bins;
    [[ha, "#2f6fde", 0], [hb, "#e08a3c", bw / 2]].forEach(function (spec) {
      spec[0].forEach(function (n, i) {
        if (!n) return;
        var r = document.createElementNS(NS, "rect");
        var bh = (h - 2 * pad) * n / top;
        r.setAttribute("x", (pad + i * bw + spec[2]).toFixed(1)); r.setAttribute("width", Math.max(bw / 2 - 1, 1).toFixed(1));
        r.setAttribute("y", (h - pad - bh).toFixed(1)); r.setAttribute("height", bh.toFixed(1));
        r.setAttribute("fill", spec[1]); r.setAttribute("class", "dist-bar");
        svg.appendChild(r);
      });
    });
    [[lo, pad, "start"], [hi, w - pad, "end"]].forEach(function (t) {
      var label = document.createElementNS(NS, "text");
      label.setAttribute("x", t[1]); label.setAttribute("y", h - 6); label.setAttribute("font-size", 10);
      label.setAttribute("fill", "#6b7682"); label.setAttribute("text-anchor", t[2]);
      label.textContent = fmt(t[0]);
      svg.appendChild(label);
    });
  }

  function ranks(items) {
    var out = {};
    items.filter(function (it) { return it.kind === "post"; }).forEach(function (it, i) { out[it.id] = i; });
    return out;
  }

  function run(ev) {
    if (ev) ev.preventDefault();
    var body;
    try {
      body = { user_id: $("user-input").value.trim(), surface: $("pipeline-select").value,
        limit: parseInt($("limit-input").value, 10) || 20,
        a: parseParams($("params-a").value), b: parseParams($("params-b").value) };
    } catch (e) { showError(e.message); return; }
    fetch("/v1/compare", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (!res.ok) { showError(JSON.stringify(res.body.detail || res.body)); return; }
        showError("");
        var d = res.body;
        var s = $("summary");
        s.hidden = false;
        s.textContent = "RBO " + fmt(d.rbo) + " · Jaccard@10 " + fmt(d.jaccard_at_10) + " · Kendall tau (shared) " +
          fmt(d.kendall_tau_shared) + " · " + d.shared + " posts on both pages";
        $("meta-a").textContent = Object.keys(d.a.params).length ? JSON.stringify(d.a.params) : "defaults";
        $("meta-b").textContent = Object.keys(d.b.params).length ? JSON.stringify(d.b.params) : "defaults";
        renderList("list-a", d.a.items, ranks(d.b.items));
        renderList("list-b", d.b.items, ranks(d.a.items));
        renderDistributions(d.a.items, d.b.items);
      })
      .catch(function (e) { showError(String(e)); });
  }

  $("compare-form").addEventListener("submit", run);
})();
