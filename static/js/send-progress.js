// Live progress of a send on the issue page: polls the ledger counts every two seconds until done.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var format = new Intl.NumberFormat(document.documentElement.lang || "de");
  function update() {
    fetch(box.getAttribute("data-progress-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        box.querySelectorAll("[data-count]").forEach(function (cell) {
          var key = cell.getAttribute("data-count");
          if (key in data) { cell.textContent = format.format(data[key]); }
        });
        var settled = data.total - data.queued - data.sending;
        var percent = data.total ? Math.floor(100 * settled / data.total) : 100;
        document.querySelectorAll("[data-percent]").forEach(function (cell) { cell.textContent = percent; });
        document.querySelectorAll("[data-percent-bar]").forEach(function (bar) { bar.value = percent; });
        var eta = box.querySelector("[data-eta]");
        if (eta) {
          var left = data.eta_seconds;
          eta.textContent = left === null ? "–" : format.format(Math.floor(left / 60)) + " min " + format.format(left % 60) + " s";
        }
        if (data.state !== box.getAttribute("data-state")) { window.location.reload(); return; }
        if (data.state === "sending" || data.state === "paused") { window.setTimeout(update, 2000); }
      })
      .catch(function () { window.setTimeout(update, 5000); });
  }
  window.setTimeout(update, 2000);
})();
