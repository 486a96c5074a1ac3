// The e-card's code on the holder's phone: ask for a new code before the shown one expires (the server says
// when), and switch between the holder's code and a family member's. Without script the page shows the code it
// was rendered with; reloading the page gives a fresh one.
(function () {
  "use strict";
  var box = document.getElementById("ecard-qr");
  if (!box) { return; }
  var img = document.getElementById("ecard-qr-image");
  var failure = document.getElementById("ecard-qr-error");
  var timer = null;

  function schedule(seconds) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, Math.max(1, seconds) * 1000);
  }

  function refresh() {
    var url = "/portal/ecard/code" + (box.dataset["for"] ? "?for=" + encodeURIComponent(box.dataset["for"]) : "");
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (code) {
        img.src = code.image;
        img.hidden = false;
        failure.hidden = true;
        box.dataset.state = "ok";
        box.dataset.expires = code.expires_at;
        schedule(code.refresh_in);
      })
      .catch(function () {
        img.hidden = true;  // a code that no longer verifies is not left on screen
        img.removeAttribute("src");
        failure.hidden = false;
        box.dataset.state = "error";
        schedule(15);
      });
  }

  document.querySelectorAll("[data-show-code]").forEach(function (button) {
    button.addEventListener("click", function () { box.dataset["for"] = button.dataset.showCode; refresh(); });
  });
  schedule(parseInt(box.dataset.refreshIn, 10) || 50);
})();
