// The /ask page's counted list (issue 19): ticking "drop" on a counted stay, night, trip or flight updates the
// count at once; "Recount" sends the drops to the server (drop=<id>), which answers again without them.
(function () {
  "use strict";
  var out = document.querySelector(".answer-text[data-counted]");
  var boxes = document.querySelectorAll('.counted-form input[name="drop"]');
  if (!out || !boxes.length) { return; }
  function update() {
    var n = 0;
    boxes.forEach(function (b) {
      b.closest("li").classList.toggle("dropped", b.checked);
      if (!b.checked) { n += 1; }
    });
    out.textContent = String(n);
    var head = document.querySelector("#counted h2");
    if (head) { head.textContent = "Counted (" + n + ")"; }
  }
  boxes.forEach(function (b) { b.addEventListener("change", update); });
})();
