// The prayer sheet's Print button. It is hidden until scripts run (enhance.js
// shows it), so without JavaScript nobody sees a button that does nothing.
document.querySelectorAll("[data-print-button]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
