// Network map: open the topology with the core in view, and let a drag with the mouse pan it.
(function () {
  "use strict";
  document.querySelectorAll(".map-scroll").forEach(function (box) {
    var core = box.querySelector(".node.core rect");
    if (core) {
      var x = parseFloat(core.getAttribute("x")) + parseFloat(core.getAttribute("width")) / 2;
      box.scrollLeft = Math.max(0, x - box.clientWidth / 2);
    }
    var start = null;
    box.addEventListener("mousedown", function (e) {
      if (e.button !== 0 || e.target.closest("a")) return;
      start = { x: e.clientX, y: e.clientY, left: box.scrollLeft, top: box.scrollTop };
      box.classList.add("dragging");
      e.preventDefault();
    });
    window.addEventListener("mousemove", function (e) {
      if (!start) return;
      box.scrollLeft = start.left - (e.clientX - start.x);
      box.scrollTop = start.top - (e.clientY - start.y);
    });
    window.addEventListener("mouseup", function () { start = null; box.classList.remove("dragging"); });
  });
})();
