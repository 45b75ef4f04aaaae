// The look of the pages, settled before the first paint: base.html loads this
// script in <head>, neither deferred nor async, so a page is never drawn in
// the wrong colours or size, or with the phone menu open, and then changed.
//   - "js" on <html>: scripts run, so the phone menu folds behind its toggler
//     and the switches show (static/css/intercession.css);
//   - data-bs-theme on <html>: Bootstrap's light or dark colours, as chosen
//     with the switch (remembered in this browser) or else as the system says;
//   - "text-larger" on <html>: the larger-text switch (remembered).
// Without scripts the pages are light, the menu stays open and the switches,
// which would do nothing, are not shown.
(() => {
  const root = document.documentElement;
  const SCHEME = "intercession.colour-scheme"; // "light", "dark", or none: as the system
  const LARGER_TEXT = "intercession.larger-text"; // "1", or none
  const systemIsDark = window.matchMedia("(prefers-color-scheme: dark)");

  // Storage can be refused (a private window, a strict setting): then a
  // choice lasts as long as the page.
  const read = (key) => {
    try {
      return window.localStorage.getItem(key);
    } catch {
      return null;
    }
  };
  const write = (key, value) => {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch {
      // Kept for this page only.
    }
  };

  const chosenScheme = () => {
    const scheme = read(SCHEME);
    return scheme === "light" || scheme === "dark" ? scheme : "system";
  };
  const applyScheme = () => {
    const scheme = chosenScheme();
    root.setAttribute("data-bs-theme", scheme === "system" ? (systemIsDark.matches ? "dark" : "light") : scheme);
  };
  const applyTextSize = () => root.classList.toggle("text-larger", read(LARGER_TEXT) === "1");

  root.classList.add("js");
  applyScheme();
  applyTextSize();
  systemIsDark.addEventListener("change", applyScheme);
  // Paper is white: print in the light colours, whatever the screen shows.
  window.addEventListener("beforeprint", () => root.setAttribute("data-bs-theme", "light"));
  window.addEventListener("afterprint", applyScheme);

  document.addEventListener("DOMContentLoaded", () => {
    const schemeSwitch = document.getElementById("colour-scheme");
    const textSwitch = document.getElementById("larger-text");
    const showChoices = () => {
      if (schemeSwitch) schemeSwitch.value = chosenScheme();
      if (textSwitch) textSwitch.checked = read(LARGER_TEXT) === "1";
    };
    showChoices();
    schemeSwitch?.addEventListener("change", () => {
      write(SCHEME, schemeSwitch.value === "system" ? null : schemeSwitch.value);
      applyScheme();
    });
    textSwitch?.addEventListener("change", () => {
      write(LARGER_TEXT, textSwitch.checked ? "1" : null);
      applyTextSize();
    });
    // A choice made in another tab reaches this one too.
    window.addEventListener("storage", () => {
      applyScheme();
      applyTextSize();
      showChoices();
    });
  });
})();
