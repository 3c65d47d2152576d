// casehub console: live updates and keyboard shortcuts. No framework but
// htmx, served by the node itself.
(function () {
  // One event stream per page with live parts: each change the node
  // applies makes them re-read their fragments (hx-trigger "changed from:body").
  if (document.querySelector("[data-live]")) {
    var events = new EventSource("/console/events");
    events.addEventListener("changed", function () {
      document.body.dispatchEvent(new Event("changed"));
    });
    events.onerror = function () {
      document.body.classList.add("offline");
    };
    events.onopen = function () {
      document.body.classList.remove("offline");
    };
  }
  // A: accept the proposal on screen; N: the next page of the menu.
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.closest && e.target.closest("input, textarea, select")) return;
    if (e.key === "a" || e.key === "A") {
      var b = document.getElementById("accept");
      if (b) { e.preventDefault(); b.click(); }
    } else if (e.key === "n" || e.key === "N") {
      var links = Array.prototype.slice.call(document.querySelectorAll("nav a"));
      var i = links.findIndex(function (l) { return l.classList.contains("here"); });
      if (links.length) { e.preventDefault(); links[(i + 1) % links.length].click(); }
    }
  });
})();
