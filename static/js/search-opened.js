// Which result a citizen opened, for the editors' search report (insights/searches.py).
// Result links keep the guide's own address and carry ping="…": Chrome, Edge and Safari
// send that POST themselves, even without this script. Firefox keeps the attribute
// (so "ping" in HTMLAnchorElement.prototype is true there too) but never sends it.
// So where this script runs it sends the same empty POST with navigator.sendBeacon, for
// every browser alike, and takes the ping attributes away so no browser sends both.
// Only the first open of a search counts, so one beacon per page is enough.
(function () {
  "use strict";
  if (!navigator.sendBeacon) { return; }
  var sent = false;

  document.querySelectorAll(".search-results a[ping]").forEach(function (link) {
    var address = link.getAttribute("ping");
    link.removeAttribute("ping");

    function opened(event) {
      // A click (mouse, Enter, touch) or a middle click opening a new tab.
      if (sent || (event.type === "auxclick" && event.button !== 1)) { return; }
      sent = navigator.sendBeacon(address);
    }

    link.addEventListener("click", opened);
    link.addEventListener("auxclick", opened);
  });
})();
