// Shared by the operator pages (experiments, shadows): the key from the top bar, JSON calls with it,
// table cells and the error banner.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  function headers() { return { Authorization: "Bearer " + $("key-input").value.trim() }; }
  window.feedmixOps = {
    $: $,
    headers: headers,
    cell: function (text, num) {
      var td = document.createElement("td");
      if (num) td.className = "num";
      td.textContent = text;
      return td;
    },
    fmt: function (x, digits) { return x == null || isNaN(x) ? "–" : Number(x).toFixed(digits == null ? 4 : digits); },
    showError: function (msg) { $("error-text").textContent = msg; $("error-banner").hidden = !msg; },
    getJson: function (url) {
      return fetch(url, { headers: headers() }).then(function (r) {
        return r.json().then(function (b) {
          if (!r.ok) throw new Error(JSON.stringify(b.detail || b));
          return b;
        });
      });
    },
  };
})();
