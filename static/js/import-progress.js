// Polls the import's progress while it runs and fills in the numbers; reloads the page when it ends.
(function () {
  "use strict";
  var box = document.querySelector(".import-progress");
  if (!box) return;
  var state = box.getAttribute("data-state");
  if (state === "done" || state === "failed") return;
  var url = box.getAttribute("data-progress-url");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        Object.keys(data).forEach(function (key) {
          var el = box.querySelector('[data-field="' + key + '"]');
          if (!el) return;
          if (el.tagName === "PROGRESS") el.value = data[key];
          // Counts as the page's language writes them (1.234 in German), like the server-rendered ones.
          else if (key !== "state") el.textContent = typeof data[key] === "number"
            ? data[key].toLocaleString(document.documentElement.lang || undefined) : data[key];
        });
        if (data.state === "done" || data.state === "failed") window.location.reload();
        else window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
