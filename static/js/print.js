// The prayer sheet's Print button. It is hidden where scripts do not run
// (data-shown-when-scripted, static/css/intercession.css), so without
// JavaScript nobody sees a button that does nothing.
document.querySelectorAll("[data-print-button]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
