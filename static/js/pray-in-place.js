/*
 * "I prayed" in place, as progressive enhancement. A form with
 * data-pray-in-place (templates/requests_app/_pray_form.html) is posted with
 * fetch, with the same fields (the CSRF token and the submission key among
 * them); the server answers JSON, and the row says "Prayed just now" without
 * a reload, so the list keeps its order and the page its scroll position.
 * The submission key stays the same, so a double tap logs once. Without
 * JavaScript, or if the answer is not JSON, the form posts as usual and the
 * server sends the browser back to the row.
 */
(function () {
  "use strict";

  document.querySelectorAll("form[data-pray-in-place]").forEach(function (form) {
    var status = form.querySelector("[data-pray-status]");
    var busy = false;

    form.addEventListener("submit", function (event) {
      if (typeof window.fetch !== "function" || typeof window.FormData !== "function") {
        return;
      }
      event.preventDefault();
      if (busy) {
        return;
      }
      busy = true;
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
      }
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          throw new Error("not JSON");
        }
        return response.json().then(function (answer) {
          if (status) {
            status.textContent = answer.message || "";
          }
          if (answer.logged) {
            var row = form.closest("li") || form.parentElement;
            var last = row.querySelector("[data-last-prayed]");
            if (last) {
              last.textContent = answer.shown;
            }
          } else if (button) {
            button.disabled = false;
          }
          busy = false;
        });
      }).catch(function () {
        // Not answered in place: post the form as usual (same key, logged once).
        form.submit();
      });
    });
  });
})();
