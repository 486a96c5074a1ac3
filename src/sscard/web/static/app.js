// Small behaviours for the pages, kept out of the HTML so the CSP can forbid inline scripts.
"use strict";
document.addEventListener("click", function (event) {
  var target = event.target;
  if (target instanceof Element && target.closest("[data-print]")) {
    window.print();
  }
});
