// The donate page: the fee a donor may cover, for the amount chosen, in euros before paying. The same rule
// as payments/checkout/fees.py (percentage rounded to the cent, halves up, plus the fixed part); the figure
// goes along in fee_cents, and the server refuses the gift when its own figure differs.
(function () {
  "use strict";
  var box = document.querySelector("[data-fee-bp]");
  if (!box) return;
  var form = box.closest("form");
  var bp = parseInt(box.dataset.feeBp, 10), fixed = parseInt(box.dataset.feeFixed, 10);
  var format = new Intl.NumberFormat(document.documentElement.lang || "de",
    { style: "currency", currency: box.dataset.currency || "EUR" });
  var line = box.querySelector(".fee-total");
  var tick = form.querySelector("input[name=cover_fee]");
  var sent = form.querySelector("input[name=fee_cents]");
  var custom = form.querySelector("input[name=custom_amount]");

  function chosenCents() {
    var preset = form.querySelector("input[name=preset]:checked");
    if (preset && preset.value !== "custom") return parseInt(preset.value, 10);
    var text = custom.value.trim().replace(/^€|€$/g, "").trim();
    var match = /^(\d{1,9})(?:[.,](\d{1,2}))?$/.exec(text);
    if (!match) return null;
    return parseInt(match[1], 10) * 100 + parseInt((match[2] || "0").padEnd(2, "0"), 10);
  }

  function update() {
    var cents = chosenCents();
    if (!tick.checked || cents === null || cents <= 0) {
      line.hidden = true;
      sent.value = "";
      return;
    }
    var fee = Math.floor((cents * bp * 2 + 10000) / 20000) + fixed;
    sent.value = String(fee);
    line.textContent = box.dataset.line.replace("{amount}", format.format(cents / 100))
      .replace("{fee}", format.format(fee / 100)).replace("{total}", format.format((cents + fee) / 100));
    line.hidden = false;
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
