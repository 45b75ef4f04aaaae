/*
 * "I prayed" in place, as progressive enhancement. A form with
 * data-pray-in-place (templates/requests_app/_pray_form.html) is posted with
 * fetch, with the same fields (the CSRF token and the submission key among
 * them); the server answers JSON, and the row says "Prayed just now" without
 * a reload, so the list keeps its order and the page its scroll position. On
 * the request's own page (the form inside [data-pray-scope]) the status card
 * and the prayer log's count say so too.
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
            // What says when the request was last prayed for, and how
            // often: in the row on a list, anywhere on the request's own
            // page (its scope, data-pray-scope).
            var row = form.closest("[data-pray-scope]") || form.closest("li") || form.parentElement;
            row.querySelectorAll("[data-last-prayed]").forEach(function (last) {
              last.textContent = answer.shown;
            });
            if (answer.count_text) {
              row.querySelectorAll("[data-prayer-count]").forEach(function (count) {
                count.textContent = answer.count_text;
              });
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
