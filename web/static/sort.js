// Click a column heading of a table.sortable to sort by it; again to reverse. Cells may carry the
// value to sort by in data-sort (numbers as numbers: 9 before 10; an empty value sorts last).
// (A file, not an inline script: the Content-Security-Policy allows scripts from this site only.)
(function () {
  function key(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    if (!numeric) { return raw; }
    return raw === "" ? null : parseFloat(raw);
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var body = table.tBodies[0];
    table.querySelectorAll("thead th").forEach(function (th, index) {
      th.classList.add("sorter");
      th.tabIndex = 0;
      function sort() {
        var numeric = th.dataset.type === "number";
        var down = th.getAttribute("aria-sort") !== "descending" && (numeric || th.getAttribute("aria-sort") === "ascending");
        table.querySelectorAll("thead th").forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a, index, numeric), y = key(b, index, numeric);
          if (x === null || y === null) { return x === y ? 0 : (x === null ? 1 : -1); }
          var order = numeric ? x - y : String(x).localeCompare(String(y), "zh-CN");
          return down ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  });
})();
