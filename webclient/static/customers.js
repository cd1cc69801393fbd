// Customer search as you type: fetch the table rows for the query (a tiny debounce), keep the
// address bar in step. Without JavaScript the form submits with GET ?q= and works the same.
(function () {
  "use strict";
  document.querySelectorAll("input[data-search-src]").forEach(function (input) {
    var form = input.form;
    var target = document.getElementById(input.getAttribute("data-search-target"));
    var timer = null;
    var seq = 0;
    function run() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) { if (value !== "") params.append(key, value); });
      var mine = ++seq;
      fetch(input.getAttribute("data-search-src") + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok || r.redirected) throw new Error("stopped"); return r.text(); })
        .then(function (html) {
          if (mine !== seq) return;  // a newer query already answered
          target.innerHTML = html;
          window.history.replaceState(null, "", form.getAttribute("action") + "?" + params.toString());
        })
        .catch(function () {});
    }
    input.addEventListener("input", function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(run, 150);
    });
  });
  // A service's actions menu: its forms are fetched when it opens (the card renders only the
  // menu asked for). Without JavaScript the menu holds a link that opens the card with them.
  document.querySelectorAll("details.row-actions").forEach(function (details) {
    var pop = details.querySelector("[data-actions]");
    if (!pop) return;
    details.addEventListener("toggle", function () {
      if (!details.open || pop.getAttribute("data-loaded")) return;
      pop.setAttribute("data-loaded", "1");
      fetch(pop.getAttribute("data-actions"), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok || r.redirected) throw new Error("stopped"); return r.text(); })
        .then(function (html) { pop.innerHTML = html; })
        .catch(function () { pop.removeAttribute("data-loaded"); });
    });
  });
  // The activation form: choosing a tariff or a bundle reloads the form with its parameters.
  document.querySelectorAll("select[data-reload]").forEach(function (select) {
    select.addEventListener("change", function () {
      var go = select.form.querySelector("input[name=go]");
      if (go) go.value = "0";
      select.form.submit();
    });
  });
})();
