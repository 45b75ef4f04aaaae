// Progressive enhancement. Without JavaScript the navigation stays expanded on
// small screens, so every link can be reached; with it, the navigation folds
// behind its toggler, which Bootstrap's script opens.
document.querySelectorAll("[data-collapse-when-scripted]").forEach((element) => {
  element.classList.add("collapse");
});
document.querySelectorAll("[data-shown-when-scripted]").forEach((element) => {
  element.classList.remove("d-none");
});
