// Live counts on a campaign's page: poll its status JSON until the campaign has ended and its receipts have settled.
// (A file, not an inline script: the Content-Security-Policy allows scripts from this site only.)
(function () {
  var live = document.getElementById("campaign-live");
  if (!live) { return; }
  var url = live.dataset.statusUrl;
  var names = JSON.parse(live.dataset.stateNames || "{}");
  (function poll() {
    fetch(url, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var shown = document.getElementById("state");
        shown.dataset.state = s.state;
        shown.textContent = names[s.state] || s.state;
        Object.keys(s.counts).forEach(function (k) {
          var cell = document.querySelector('td[data-state="' + k + '"]');
          if (cell) { cell.textContent = s.counts[k]; }
        });
        var settling = document.getElementById("settling");
        if (settling) { settling.hidden = !s.settling; }
        // After the campaign ends, keep counting (more slowly) until the receipts have settled.
        var ended = s.state === "done" || s.state === "cancelled";
        if (!ended) { setTimeout(poll, 1000); } else if (s.settling) { setTimeout(poll, 5000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  })();
})();
