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
        if (data.state === "sending") { window.setTimeout(update, 2000); }
      })
      .catch(function () { window.setTimeout(update, 5000); });
  }
  window.setTimeout(update, 2000);
})();
