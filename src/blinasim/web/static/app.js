// blinasim web app: the horizon picker, the print button and the explorer's progress.
// Plain script from this server only (no library, no other host); the pages work without it.
"use strict";

function showHorizon(h) {
  document.querySelectorAll("[data-horizon]").forEach(function (el) {
    el.hidden = el.getAttribute("data-horizon") !== h;
  });
  document.querySelectorAll("input[name=show-horizon]").forEach(function (r) {
    r.checked = r.value === h;
  });
}

function pollJob(box) {
  var url = box.getAttribute("data-status");
  function tick() {
    fetch(url, {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        document.getElementById("job-done").textContent = String(s.done);
        document.getElementById("job-total").textContent = String(s.total || "?");
        var bar = document.getElementById("job-bar");
        bar.max = s.total || 1;
        bar.value = s.done;
        if (s.state === "done" || s.state === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(tick, 700);
        }
      })
      .catch(function () { window.setTimeout(tick, 2000); });
  }
  tick();
}

document.addEventListener("DOMContentLoaded", function () {
  var picker = document.getElementById("horizon-picker");
  if (picker) {
    picker.hidden = false;
    picker.addEventListener("change", function (e) {
      if (e.target && e.target.name === "show-horizon") { showHorizon(e.target.value); }
    });
  }
  var print = document.getElementById("print-button");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
  var box = document.getElementById("job-progress");
  if (box) { pollJob(box); }
});
