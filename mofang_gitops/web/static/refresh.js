// Refreshes the page's content in place every 15 seconds (the page works without this file).
// Only the server-rendered, escaped <main> of the same URL is swapped in: no data is turned into
// HTML here.
(function () {
  "use strict";
  var PERIOD_MS = 15000;
  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("content");
        var current = document.getElementById("content");
        if (fresh && current) { current.replaceWith(document.adoptNode(fresh)); }
        document.documentElement.dataset.refreshed = String(Date.now());
      })
      .catch(function () { document.documentElement.dataset.refreshFailed = String(Date.now()); })
      .finally(function () { window.setTimeout(refresh, PERIOD_MS); });
  }
  window.setTimeout(refresh, PERIOD_MS);
})();
