// lifeseeker search page: open a result's detail panel (server-rendered, escaped markup copied by cloning a
// <template>, never by innerHTML of user data), keyboard navigation, and a busy indicator while searching.
(function () {
  "use strict";
  const panel = document.getElementById("detail");
  const cards = Array.from(document.querySelectorAll(".card"));
  let current = -1;

  function open(i) {
    if (i < 0 || i >= cards.length) return;
    current = i;
    cards.forEach((c, j) => c.classList.toggle("selected", j === i));
    const tpl = cards[i].querySelector("template.detail");
    panel.replaceChildren(tpl.content.cloneNode(true));
    panel.hidden = false;
    cards[i].focus();
  }

  cards.forEach((card, i) => {
    card.addEventListener("click", () => open(i));
    card.addEventListener("keydown", (e) => { if (e.key === "Enter") open(i); });
  });

  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
    if (e.key === "ArrowRight") open(current + 1);
    else if (e.key === "ArrowLeft") open(current - 1);
    else if (e.key === "Escape") { panel.hidden = true; }
  });

  const form = document.getElementById("search");
  if (form) form.addEventListener("submit", () => {
    // drop empty fields so the URL stays readable and shareable
    Array.from(form.elements).forEach((el) => { if (el.name && !el.value) el.disabled = true; });
    document.getElementById("busy").hidden = false;
  });
})();
