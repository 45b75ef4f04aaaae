// The header's menus are <details> disclosures: they open and close without
// JavaScript, by mouse, touch or keyboard. With it they behave as menus do:
// one open at a time, closed by Escape (focus back on its summary), by a
// click elsewhere, or when the keyboard's focus moves on past it.
const menus = [...document.querySelectorAll("details.nav-menu")];
const close = (menu) => {
  menu.open = false;
};
menus.forEach((menu) => {
  menu.addEventListener("toggle", () => {
    if (menu.open) menus.filter((other) => other !== menu).forEach(close);
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      close(menu);
      menu.querySelector("summary").focus();
    }
  });
  menu.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !menu.contains(event.relatedTarget)) close(menu);
  });
});
document.addEventListener("click", (event) => {
  menus.filter((menu) => menu.open && !menu.contains(event.target)).forEach(close);
});
