// Search suggestions as you type: progressive enhancement of any search input
// with data-suggest. Without this script the form works exactly the same.
// Follows the ARIA combobox pattern: arrow keys move, Enter opens, Escape closes.
(function () {
  "use strict";
  var counter = 0;

  function enhance(input) {
    var listId = "suggestions-" + (++counter);
    var list = document.createElement("ul");
    var status = document.createElement("div");
    var timer = null;
    var active = -1;
    var items = [];
    var lastQuery = "";

    list.id = listId;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggested guides");
    list.hidden = true;
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.parentNode.style.position = "relative";
    input.parentNode.appendChild(list);
    input.parentNode.appendChild(status);

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlightActive() {
      items.forEach(function (li, index) {
        li.setAttribute("aria-selected", index === active ? "true" : "false");
      });
      if (active >= 0) {
        input.setAttribute("aria-activedescendant", items[active].id);
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(suggestions) {
      list.textContent = "";
      items = suggestions.map(function (s, index) {
        var li = document.createElement("li");
        var link = document.createElement("a");
        li.id = listId + "-" + index;
        li.setAttribute("role", "option");
        link.href = s.url;
        link.textContent = s.title;
        link.tabIndex = -1;
        li.appendChild(link);
        li.addEventListener("mousedown", function (event) {
          event.preventDefault();
          window.location.href = s.url;
        });
        list.appendChild(li);
        return li;
      });
      active = -1;
      highlightActive();
      list.hidden = items.length === 0;
      input.setAttribute("aria-expanded", items.length ? "true" : "false");
      status.textContent = items.length
        ? items.length + " suggestion" + (items.length === 1 ? "" : "s") + ", use the arrow keys to choose"
        : "";
    }

    function fetchSuggestions() {
      var query = input.value;
      if (query.trim().length < 2) { render([]); return; }
      if (query === lastQuery) { return; }
      lastQuery = query;
      fetch(input.dataset.suggest + "?q=" + encodeURIComponent(query), {
        headers: { Accept: "application/json" }
      })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (data) { if (input.value === query) { render(data.suggestions || []); } })
        .catch(function () { render([]); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") {
        active = (active + 1) % items.length;
        highlightActive();
        event.preventDefault();
      } else if (event.key === "ArrowUp") {
        active = active <= 0 ? items.length - 1 : active - 1;
        highlightActive();
        event.preventDefault();
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        window.location.href = items[active].querySelector("a").href;
      } else if (event.key === "Escape") {
        // Close the list only; without this a search input also clears itself.
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  document.querySelectorAll("input[data-suggest]").forEach(enhance);
})();
