/*
 * "Copy link" for the follow-up link, as progressive enhancement: without
 * JavaScript the button stays hidden and the read-only field can be selected
 * and copied by hand. Buttons: <button data-copy-target="<input id>"
 * data-copied-text="…" data-failed-text="…" hidden>; the messages come from
 * the template, so they are translated. A live region #copy-status announces
 * the result.
 */
(function () {
  "use strict";

  function announce(text) {
    var status = document.getElementById("copy-status");
    if (status) {
      status.textContent = text;
    }
  }

  function copyWithSelection(input) {
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) {
      return;
    }
    var copied = button.getAttribute("data-copied-text");
    var failed = button.getAttribute("data-failed-text");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { announce(copied); },
        function () { announce(copyWithSelection(input) ? copied : failed); }
      );
    } else {
      announce(copyWithSelection(input) ? copied : failed);
    }
  }

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (input) {
      // One tap selects the whole link, ready to copy by hand too.
      input.addEventListener("focus", function () { input.select(); });
    }
  });
})();
