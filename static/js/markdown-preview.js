// Live Markdown preview on the staff desk: a textarea with data-preview-url gets its text rendered by the
// server (the same renderer and sanitiser as the mail) beside it, a moment after typing stops. Without this
// script the form works as before; the page shows the saved text instead.
(function () {
  "use strict";
  var WAIT = 400; // ms after the last keystroke
  document.querySelectorAll("textarea[data-preview-url]").forEach(function (area) {
    var box = document.getElementById(area.getAttribute("data-preview-target"));
    var form = area.form;
    var token = form && form.querySelector("input[name=csrf_token]");
    if (!box || !token) { return; }
    var timer = null;
    var sent = null; // the text of the last request, so that an unchanged text is not sent again
    var latest = 0; // answers that arrive after a newer request started are dropped
    function render() {
      var text = area.value;
      if (text === sent) { return; }
      sent = text;
      var ticket = ++latest;
      var body = new FormData();
      body.append("csrf_token", token.value);
      body.append("text", text);
      fetch(area.getAttribute("data-preview-url"), {
        method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": token.value }
      })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null || ticket !== latest) { return; }
          box.innerHTML = html; // sanitised by the server (nh3): no scripts, handlers or odd links
          box.classList.remove("md-preview-stale");
        })
        .catch(function () { box.classList.add("md-preview-stale"); sent = null; });
    }
    area.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(render, WAIT);
    });
    box.hidden = false;
    area.closest(".md-split").classList.add("md-split-on");
    render();
  });
})();
