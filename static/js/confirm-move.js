/*
 * "Are you sure?" before a move that ends intercession, as progressive
 * enhancement. The request page's note form (<form data-confirm-moves>) has a
 * hidden <input data-confirmed>; a move button with data-confirm="<dialog id>"
 * opens that <dialog> instead of posting. "Yes" posts the same button with
 * confirmed=1; "Go back" (or Escape) closes the dialog and nothing is sent.
 * Without JavaScript, or without <dialog>, the move posts unconfirmed and the
 * server answers with its confirmation page.
 */
(function () {
  "use strict";

  document.querySelectorAll("form[data-confirm-moves]").forEach(function (form) {
    var confirmed = form.querySelector("[data-confirmed]");
    var note = form.querySelector("textarea[name=note]");
    var pending = null;
    if (!confirmed) {
      return;
    }

    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (button && button === pending) {
        pending = null;
        return;  // confirmed in the dialog: let it go
      }
      confirmed.value = "";
      if (!button || !button.hasAttribute("data-confirm")) {
        return;
      }
      var dialog = document.getElementById(button.getAttribute("data-confirm"));
      if (!dialog || typeof dialog.showModal !== "function") {
        return;
      }
      event.preventDefault();
      var noteText = note ? note.value.trim() : "";
      var block = dialog.querySelector("[data-confirm-note-block]");
      if (block) {
        block.hidden = noteText === "";
        dialog.querySelector("[data-confirm-note]").textContent = noteText;
      }
      dialog.showModal();
    });

    form.parentElement.querySelectorAll("dialog").forEach(function (dialog) {
      dialog.querySelector("[data-confirm-yes]").addEventListener("click", function () {
        var button = form.querySelector("button[data-confirm='" + dialog.id + "']");
        dialog.close();
        if (!button) {
          return;
        }
        confirmed.value = "1";
        pending = button;
        form.requestSubmit(button);
      });
      dialog.querySelector("[data-confirm-no]").addEventListener("click", function () {
        dialog.close();
        var button = form.querySelector("button[data-confirm='" + dialog.id + "']");
        if (button) {
          button.focus();
        }
      });
    });
  });
})();
