/* feedmix console: pick a user, load their feed, inspect ranking and trace.
 * Vanilla JS, no build step. All API text goes through textContent (never innerHTML). */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var state = { params: null, nextCursor: null, users: {}, page: 0, offset: 0, pageSize: 0, busy: false };

  /* ---------- DOM helpers ---------- */
  // el("td", {className: "num", title: "x"}, ["text", childNode, ...])
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "className" || k === "textContent" || k === "hidden") node[k] = v;
        else if (k === "style") node.style.cssText = v;
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  /* ---------- formatting ---------- */
  function fmtNum(v, digits) {
    if (v === null || v === undefined || v === "") return "–";
    var n = Number(v);
    if (!isFinite(n)) return String(v);
    if (digits !== undefined) return n.toFixed(digits);
    return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toFixed(3);
  }
  function fmtMs(v) {
    if (v === null || v === undefined) return "–";
    var n = Number(v);
    return (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)) + " ms";
  }
  function fmtAge(hours) {
    if (hours === null || hours === undefined || !isFinite(Number(hours))) return "–";
    var h = Number(hours);
    if (h < 0) return "future";
    if (h < 1) return Math.max(1, Math.round(h * 60)) + " min";
    if (h < 48) return Math.round(h) + " h";
    var d = h / 24;
    if (d < 60) return Math.round(d) + " d";
    if (d < 730) return Math.round(d / 30.44) + " mo";
    return Math.round(d / 365.25) + " y";
  }
  function ageHours(item) {
    if (item.age_hours !== undefined && item.age_hours !== null) return item.age_hours;
    if (item.created_utc) return (Date.now() / 1000 - item.created_utc) / 3600;
    return null;
  }
  function fmtDate(utc) {
    return utc ? new Date(utc * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "";
  }

  // Stable colour per name (sources, score parts) with a few fixed choices.
  var FIXED_HUES = { trending: 14, subscribed: 210, popular: 35, fresh: 130, explore: 280,
    cold_start: 190, quality: 210, engagement: 30, affinity: 140, freshness: 280 };
  function hueFor(name) {
    if (FIXED_HUES[name] !== undefined) return FIXED_HUES[name];
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) % 360;
    return h;
  }
  function tagStyle(name) {
    var hue = hueFor(name);
    return "background:hsl(" + hue + ",70%,92%);color:hsl(" + hue + ",60%,30%);border-color:hsl(" + hue + ",50%,78%)";
  }
  function partColor(name) { return "hsl(" + hueFor(name) + ",55%,55%)"; }

  /* ---------- errors ---------- */
  function showError(msg) {
    $("error-text").textContent = msg;
    $("error-banner").hidden = false;
  }
  function hideError() { $("error-banner").hidden = true; }
  function detailText(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map(function (d) {
        if (d && typeof d === "object" && d.msg) return (d.loc ? d.loc.join(".") + ": " : "") + d.msg;
        return JSON.stringify(d);
      }).join("; ");
    }
    return JSON.stringify(detail);
  }

  function api(path) {
    return fetch(path, { headers: { Accept: "application/json" } }).then(function (resp) {
      return resp.text().then(function (body) {
        var data = null;
        try { data = body ? JSON.parse(body) : null; } catch (e) { /* not JSON */ }
        if (!resp.ok) {
          var msg = data && data.detail !== undefined ? detailText(data.detail) : (body || resp.statusText);
          throw new Error("HTTP " + resp.status + " on " + path.split("?")[0] + ": " + msg);
        }
        if (data === null) throw new Error("Invalid JSON from " + path.split("?")[0]);
        return data;
      });
    });
  }

  /* ---------- pickers ---------- */
  function loadUsers() {
    return api("/v1/users?limit=50").then(function (data) {
      var sel = clear($("user-select"));
      (data.users || []).forEach(function (u) {
        state.users[u.user_id] = u;
        var comms = (u.communities || []).slice(0, 3).join(", ") + ((u.communities || []).length > 3 ? ", …" : "");
        sel.appendChild(el("option", { value: u.user_id }, [u.user_id + (comms ? " — " + comms : "")]));
      });
      if (!sel.options.length) sel.appendChild(el("option", { value: "" }, ["(no users)"]));
    });
  }
  function loadCommunities() {
    return api("/v1/communities").then(function (data) {
      var sel = clear($("surface-select"));
      sel.appendChild(el("option", { value: "home" }, ["home"]));
      sel.appendChild(el("option", { value: "@discovery" }, ["apps & games discovery"]));
      (data.communities || []).forEach(function (c) {
        var extra = c.posts !== undefined ? " (" + fmtNum(c.posts) + " posts)" : "";
        sel.appendChild(el("option", { value: c.name }, ["r/" + c.name + extra]));
      });
    });
  }

  function currentParams() {
    var typed = $("user-input").value.trim();
    var limit = parseInt($("limit-input").value, 10);
    return {
      user: typed || $("user-select").value,
      surface: $("surface-select").value || "home",
      limit: isFinite(limit) && limit > 0 ? limit : 25
    };
  }

  /* ---------- feed loading ---------- */
  function feedUrl(p, cursor) {
    var base = p.surface === "home" ? "/v1/feed" :
      p.surface === "@discovery" ? "/v1/discovery/feed" :
      "/v1/communities/" + encodeURIComponent(p.surface) + "/feed";
    var q = "user_id=" + encodeURIComponent(p.user) + "&limit=" + p.limit + "&debug=true";
    if (cursor) q += "&cursor=" + encodeURIComponent(cursor);
    return base + "?" + q;
  }

  function load(next) {
    if (state.busy) return;
    var p = next ? state.params : currentParams();
    if (!p || !p.user) { showError("Pick a user or type a user id."); return; }
    var cursor = next ? state.nextCursor : null;
    state.busy = true;
    $("load-btn").disabled = true;
    $("next-btn").disabled = true;
    $("status-line").classList.add("loading");
    hideError();
    history.replaceState(null, "", "#user=" + encodeURIComponent(p.user) + "&surface=" +
      encodeURIComponent(p.surface) + "&limit=" + p.limit);
    api(feedUrl(p, cursor)).then(function (data) {
      state.offset = next ? state.offset + state.pageSize : 0;
      state.page = next ? state.page + 1 : 1;
      state.pageSize = (data.items || []).length;
      state.params = p;
      state.nextCursor = data.next_cursor || null;
      render(data);
      $("layout").classList.remove("stale");
    }).catch(function (err) {
      showError(err.message || String(err));
      if (state.params) $("layout").classList.add("stale");
    }).then(function () {
      state.busy = false;
      $("load-btn").disabled = false;
      $("next-btn").disabled = !state.nextCursor;
      $("status-line").classList.remove("loading");
    });
  }

  /* ---------- rendering ---------- */
  function render(data) {
    renderUser(data);
    renderStatus(data);
    renderFeed(data.items || [], data.model_version);
    renderTrace(data.trace);
  }

  function renderUser(data) {
    var box = clear($("user-info"));
    var u = data.user || {};
    var known = state.users[data.user_id] || {};
    box.appendChild(el("strong", null, [data.user_id || "?"]));
    box.appendChild(el("span", { className: "pill " + (u.cold_start ? "warn" : "ok") },
      [u.cold_start ? "cold start" : "known user"]));
    box.appendChild(el("span", { className: "muted" }, ["surface: " + (data.surface || state.params.surface)]));
    if (known.activity !== undefined) box.appendChild(el("span", { className: "muted" }, ["activity " + fmtNum(known.activity, 2)]));
    if (known.allow_nsfw !== undefined) box.appendChild(el("span", { className: "muted" }, [known.allow_nsfw ? "NSFW allowed" : "NSFW hidden"]));
    var comms = u.communities || known.communities || [];
    if (comms.length) {
      box.appendChild(el("span", { className: "muted" }, ["subscribed:"]));
      comms.forEach(function (c) { box.appendChild(el("span", { className: "chip" }, ["r/" + c])); });
    }
    if ((data.suggested_communities || []).length) {
      box.appendChild(el("span", { className: "muted" }, ["to join:"]));
      data.suggested_communities.forEach(function (c) {
        box.appendChild(el("span", { className: "chip suggested" }, ["r/" + c]));
      });
    }
  }

  function renderStatus(data) {
    var box = clear($("status-line"));
    var tr = data.trace || {};
    var cov = Number(data.coverage);
    function field(label, value, cls, title) {
      box.appendChild(el("span", { className: "field " + (cls || ""), title: title }, [
        el("span", { className: "label" }, [label]), " ", value]));
    }
    field("coverage", isFinite(cov) ? (cov * 100).toFixed(1) + "%" : "–", isFinite(cov) && cov < 1 ? "warn" : "");
    var failed = (data.failed_components || []).map(function (f) {
      return typeof f === "string" ? f : (f && (f.component || f.name)) || JSON.stringify(f);
    });
    field("degraded", data.degraded ? "yes" + (failed.length ? " — failed: " + failed.join(", ") : "") : "no",
      data.degraded ? "bad" : "");
    if (!data.degraded && failed.length) field("failed", failed.join(", "), "warn");
    field("wall", fmtMs(tr.wall_ms));
    field("cpu", fmtMs(tr.cpu_ms));
    field("items", String((data.items || []).length) + (state.page > 1 ? " (page " + state.page + ")" : ""));
    field("next", data.next_cursor ? "available" : "end", "", data.next_cursor || "");
    field("request", data.request_id || tr.request_id || "–", "mono");
  }

  function scorePartsBar(parts, scale) {
    var keys = Object.keys(parts || {});
    if (!keys.length) return el("span", { className: "muted" }, ["–"]);
    var title = keys.map(function (k) { return k + ": " + fmtNum(parts[k], 3); }).join("\n");
    var bar = el("div", { className: "parts", title: title });
    keys.forEach(function (k) {
      var v = Number(parts[k]) || 0;
      var w = scale > 0 ? Math.abs(v) / scale * 100 : 0;
      bar.appendChild(el("span", {
        className: "seg" + (v < 0 ? " neg" : ""), title: k + ": " + fmtNum(parts[k], 3),
        style: "width:" + w.toFixed(2) + "%;background:" + partColor(k)
      }));
    });
    return bar;
  }

  // when the trained ranker scored the page, its value-model terms explain the score, not the
  // heuristic's parts (which are still computed, as the fail-open fallback)
  function shownParts(parts) {
    var keys = Object.keys(parts || {});
    var value = keys.filter(function (k) { return k.indexOf("value.") === 0; });
    if (!value.length) return parts || {};
    var out = {};
    value.forEach(function (k) { out[k] = parts[k]; });
    return out;
  }

  function predictionsText(p) {
    var keys = Object.keys(p || {});
    if (!keys.length) return "heuristic score (no ranker model promoted)";
    return keys.map(function (k) { return "P(" + k + ") = " + fmtNum(p[k], 4); }).join("\n");
  }

  // What put an ad on the page, as the organic rows show their source and score parts.
  var AD_WHY = [
    ["campaign_id", "campaign"], ["ad_group_id", "ad group"], ["pctr", "pCTR"], ["ecpm", "eCPM"],
    ["price_micros", "price"], ["auction_slot", "auction slot"], ["slot_rule", "slot rule"]
  ];
  function fmtWhy(key, v) {
    if (key === "pctr") return fmtNum(v, 4);
    if (key === "ecpm") return "$" + fmtNum(v, 2);
    if (key === "price_micros") return "$" + fmtNum(Number(v) / 1e6, 4);
    return String(v);
  }
  function adWhy(why) {
    if (!why) return "–";
    return el("span", { className: "ad-why", title: AD_WHY.map(function (f) {
      return f[1] + ": " + fmtWhy(f[0], why[f[0]]);
    }).join("\n") }, AD_WHY.filter(function (f) { return f[0] !== "auction_slot"; }).map(function (f) {
      return el("span", { className: "why-part" }, [el("b", null, [f[1]]), " " + fmtWhy(f[0], why[f[0]])]);
    }));
  }

  function renderFeed(items, modelVersion) {
    var tbody = clear($("feed-table").tBodies[0]);
    var partKeys = [];
    var scale = 0;
    items.forEach(function (it) {
      it.score_parts = shownParts(it.score_parts);
      var sum = 0;
      Object.keys(it.score_parts || {}).forEach(function (k) {
        if (partKeys.indexOf(k) < 0) partKeys.push(k);
        sum += Math.abs(Number(it.score_parts[k]) || 0);
      });
      scale = Math.max(scale, sum);
    });
    $("feed-meta").textContent = items.length
      ? items.length + " items · ranked by " + (modelVersion || "heuristic") : "";
    if (!items.length) {
      tbody.appendChild(el("tr", null, [el("td", { colspan: 9, className: "empty" }, ["No items."])]));
    }
    items.forEach(function (it, i) {
      var href = it.permalink ? (/^https?:/.test(it.permalink) ? it.permalink : "https://www.reddit.com" + it.permalink) : (it.url || it.click_url);
      var title = it.title || it.headline;
      var safeHref = href && /^(https?:)?\//.test(href) ? href : null;
      var titleCell = el("td", { className: "title" }, [
        it.over_18 ? el("span", { className: "nsfw", title: "over 18" }, ["NSFW"]) : null,
        it.kind && it.kind !== "post" ? el("span", { className: "kind" }, [it.kind]) : null,
        safeHref ? el("a", { href: safeHref, target: "_blank", rel: "noopener noreferrer", title: title },
          [title || "(untitled)"]) : el("span", null, [title || "(untitled)"]),
        el("span", { className: "post-id" }, [it.id])
      ]);
      tbody.appendChild(el("tr", { className: it.over_18 ? "is-nsfw" : null }, [
        el("td", { className: "num muted" }, [state.offset + i + 1]),
        titleCell,
        el("td", { className: "community" }, [it.community ? "r/" + it.community : "–"]),
        el("td", { className: "num", title: fmtDate(it.created_utc) }, [fmtAge(ageHours(it))]),
        el("td", { className: "num" }, [fmtNum(it.post_score)]),
        el("td", { className: "num" }, [fmtNum(it.num_comments)]),
        el("td", null, [it.kind === "ad" ? el("span", { className: "tag", style: tagStyle("ads") }, ["ads"])
          : it.source ? el("span", { className: "tag", style: tagStyle(it.source) }, [it.source]) : "–"]),
        it.kind === "ad"
          ? el("td", { className: "num strong", title: "eCPM of the winning bid" }, [fmtWhy("ecpm", it.why && it.why.ecpm)])
          : el("td", { className: "num strong", title: predictionsText(it.predictions) }, [fmtNum(it.score, 3)]),
        el("td", { className: "parts-cell" }, [it.kind === "ad" ? adWhy(it.why) : scorePartsBar(it.score_parts, scale)])
      ]));
    });
    var legend = clear($("parts-legend"));
    partKeys.forEach(function (k) {
      legend.appendChild(el("span", { className: "legend-item" }, [
        el("span", { className: "swatch", style: "background:" + partColor(k) }), k]));
    });
  }

  var FAILED = { error: 1, timeout: 1 };

  function renderTrace(trace) {
    var box = clear($("trace"));
    $("trace-meta").textContent = "";
    if (!trace || !trace.stages || !trace.stages.length) {
      box.appendChild(el("p", { className: "muted" }, ["No trace (debug output missing)."]));
      return;
    }
    $("trace-meta").textContent = (trace.pipeline ? trace.pipeline + " pipeline · " : "") +
      trace.stages.length + " stages · " + fmtMs(trace.wall_ms) + " wall · " + fmtMs(trace.cpu_ms) + " cpu";
    var maxWall = Math.max.apply(null, trace.stages.map(function (s) { return Number(s.wall_ms) || 0; }).concat([0.001]));
    trace.stages.forEach(function (s) {
      var comps = s.components || [];
      var nFailed = comps.filter(function (c) { return FAILED[c.status]; }).length;
      var w = Math.max(0.5, (Number(s.wall_ms) || 0) / maxWall * 100);
      var summary = el("summary", { className: "stage-row" + (nFailed ? " has-failed" : "") }, [
        el("span", { className: "stage-name" }, [s.stage]),
        el("span", { className: "bar-track" }, [el("span", { className: "bar", style: "width:" + w.toFixed(2) + "%" })]),
        el("span", { className: "stage-ms num" }, [fmtMs(s.wall_ms)]),
        el("span", { className: "stage-cpu num muted" }, ["cpu " + fmtMs(s.cpu_ms)]),
        el("span", { className: "stage-cands num" }, [fmtNum(s.candidates_in) + " → " + fmtNum(s.candidates_out)]),
        el("span", { className: "stage-comps muted" }, [comps.length + (comps.length === 1 ? " component" : " components")]),
        nFailed ? el("span", { className: "pill bad" }, [nFailed + " failed"]) : null
      ]);
      var details = el("details", { className: "stage" }, [summary, componentTable(comps, Number(s.wall_ms) || 0)]);
      if (nFailed) details.open = true;
      box.appendChild(details);
    });
  }

  function componentTable(comps, stageWall) {
    if (!comps.length) return el("p", { className: "muted comp-empty" }, ["No components recorded."]);
    var maxWall = Math.max(stageWall, 0.001);
    comps.forEach(function (c) { maxWall = Math.max(maxWall, Number(c.wall_ms) || 0); });
    var rows = [];
    comps.forEach(function (c) {
      var failed = !!FAILED[c.status];
      var w = (Number(c.wall_ms) || 0) / maxWall * 100;
      rows.push(el("tr", { className: failed ? "failed" : null }, [
        el("td", null, [c.component, c.owner ? el("span", { className: "owner" }, [c.owner]) : null]),
        el("td", { className: "muted" }, [c.kind || ""]),
        el("td", null, [el("span", { className: "status st-" + String(c.status).replace(/[^a-z_]/gi, "") }, [c.status])]),
        el("td", { className: "mini-bar-cell" }, [el("span", { className: "mini-bar", style: "width:" + w.toFixed(2) + "%" })]),
        el("td", { className: "num" }, [fmtMs(c.wall_ms)]),
        el("td", { className: "num muted" }, [fmtMs(c.cpu_ms)]),
        el("td", { className: "num" }, [fmtNum(c.candidates_in) + " → " + fmtNum(c.candidates_out)])
      ]));
      if (c.error) {
        rows.push(el("tr", { className: "error-row" }, [el("td", { colspan: 7 }, ["⚠ " + c.error])]));
      }
    });
    return el("table", { className: "components" }, [
      el("thead", null, [el("tr", null, ["component", "kind", "status", "", "wall", "cpu", "candidates"].map(function (h, i) {
        return el("th", { className: i >= 4 ? "num" : null }, [h]);
      }))]),
      el("tbody", null, rows)
    ]);
  }

  /* ---------- wiring ---------- */
  function restoreFromHash() {
    var h = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) h[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    });
    if (h.user) {
      if (state.users[h.user]) { $("user-select").value = h.user; $("user-input").value = ""; }
      else $("user-input").value = h.user;
    }
    if (h.surface) {
      var sel = $("surface-select");
      if (!Array.prototype.some.call(sel.options, function (o) { return o.value === h.surface; })) {
        sel.appendChild(el("option", { value: h.surface }, ["r/" + h.surface]));
      }
      sel.value = h.surface;
    }
    if (h.limit) $("limit-input").value = h.limit;
    return !!h.user;
  }

  function init() {
    $("controls").addEventListener("submit", function (e) { e.preventDefault(); load(false); });
    $("next-btn").addEventListener("click", function () { load(true); });
    $("error-close").addEventListener("click", hideError);
    $("user-select").addEventListener("change", function () { $("user-input").value = ""; load(false); });
    $("surface-select").addEventListener("change", function () { load(false); });
    Promise.all([
      loadUsers().catch(function (e) { showError("Could not load users: " + e.message); }),
      loadCommunities().catch(function (e) { showError("Could not load communities: " + e.message); })
    ]).then(function () {
      restoreFromHash();
      if (currentParams().user) load(false);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
