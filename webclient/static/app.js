// Mango ISP staff client: the little JavaScript it needs. Everything works without it.
(function () {
  "use strict";

  // Ask before a form that says so (cancel a job, …).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Close the user menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.usermenu[open]").forEach(function (m) { m.removeAttribute("open"); });
    }
  });

  // Live tables: while a job is queued or running, fetch the rows again every 2 seconds.
  function live(body) {
    var src = body.getAttribute("data-live-src") + window.location.search;
    var timer = null;
    function tick() {
      fetch(src, { credentials: "same-origin", headers: { "accept": "text/html" } })
        .then(function (response) {
          if (!response.ok || response.redirected) { throw new Error("stopped"); }
          var more = response.headers.get("x-mango-live") === "1";
          return response.text().then(function (html) {
            body.innerHTML = html;
            body.setAttribute("data-live", more ? "1" : "0");
            if (!more) stop();
          });
        })
        .catch(stop);
    }
    function stop() { if (timer) { clearInterval(timer); timer = null; } }
    if (body.getAttribute("data-live") === "1") timer = setInterval(tick, 2000);
  }
  document.querySelectorAll("[data-live-src]").forEach(live);
})();
