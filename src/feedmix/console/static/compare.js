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
      })
      .catch(function (e) { showError(String(e)); });
  }

  $("compare-form").addEventListener("submit", run);
})();
