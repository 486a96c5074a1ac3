// Kiosk: the on-screen numeric keypad and the idle timeout (kept out of the HTML: the CSP forbids inline code).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-keypad-for]").forEach(function (pad) {
    var input = document.getElementById(pad.getAttribute("data-keypad-for"));
    if (!input) { return; }
    // With data-keypad-follow the keypad types into whichever field of its form was touched last.
    if (pad.hasAttribute("data-keypad-follow")) {
      var form = pad.closest("form");
      if (form) {
        form.querySelectorAll("input[type=password]").forEach(function (field) {
          field.addEventListener("focus", function () { input = field; });
        });
      }
    }
    pad.addEventListener("click", function (event) {
      var button = event.target instanceof Element ? event.target.closest("[data-key]") : null;
      if (!button) { return; }
      var key = button.getAttribute("data-key");
      var max = parseInt(input.getAttribute("maxlength") || "12", 10);
      if (key === "clear") { input.value = ""; }
      else if (key === "back") { input.value = input.value.slice(0, -1); }
      else if (input.value.length < max) { input.value += key; }
      input.focus();
    });
  });
  // After the idle time without a touch or key, log out and say to take the card (the server ends the
  // session anyway).
  var seconds = parseInt(document.body.getAttribute("data-idle-seconds") || "0", 10);
  var logout = document.getElementById("holder-logout");
  if (!seconds || !logout) { return; }
  var timer = null;
  function leave() {
    var reason = document.createElement("input");
    reason.type = "hidden";
    reason.name = "reason";
    reason.value = "idle";
    logout.appendChild(reason);
    logout.submit();
  }
  function restart() {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(leave, seconds * 1000);
  }
  ["click", "keydown", "touchstart", "pointerdown"].forEach(function (name) {
    document.addEventListener(name, restart, { passive: true });
  });
  restart();
});
