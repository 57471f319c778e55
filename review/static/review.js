// settlewatch review queue: the only script. Keeps the lease of an open case alive and shows
// when it has gone, so an analyst never writes a decision the server will refuse with 409.
(function () {
  "use strict";
  var lease = document.querySelector("[data-lease-until]");
  if (!lease) { return; }
  var caseId = lease.getAttribute("data-case");
  // every POST carries the page's CSRF token; the server refuses one without it
  var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  function renew() {
    fetch("/review/cases/" + caseId + "/lease", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": token }
    })
      .then(function (r) {
        if (r.status !== 200) { lease.classList.add("expired"); clearInterval(timer); }
      })
      .catch(function () { /* offline for a moment: the next tick retries */ });
  }
  var timer = setInterval(renew, 120000);
  // the case page also offers only the reasons of the chosen class
  var form = document.querySelector(".decision-form");
  if (!form) { return; }
  var select = form.querySelector("select[name=reason]");
  function filterReasons() {
    var chosen = form.querySelector("input[name=decision]:checked");
    var cls = chosen ? chosen.value : "";
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (g) {
      var show = g.getAttribute("data-class") === cls;
      g.hidden = !show;
      g.disabled = !show;
    });
    var current = select.options[select.selectedIndex];
    if (current && current.parentNode.disabled) { select.value = ""; }
  }
  form.addEventListener("change", filterReasons);
  filterReasons();
})();
