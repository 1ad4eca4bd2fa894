// Search suggestions as you type: progressive enhancement of any search input
// with data-suggest. Without this script the form works exactly the same.
// Follows the ARIA combobox pattern: arrow keys move, Enter opens, Escape closes.
// What it says comes from the input's data-suggest-* attributes, in the page's language
// (templates/includes/suggest_texts.html): no interface text is written here.
(function () {
  "use strict";
  var counter = 0;
  var plurals = null;
  try {
    plurals = new Intl.PluralRules(document.documentElement.lang || undefined);
  } catch (error) {
    plurals = null;  // an old browser, or a lang it does not know: English rules below
  }

  // "{n} suggestions, …" in the plural form the page's language uses for n.
  function countText(input, n) {
    var form = plurals ? plurals.select(n) : (n === 1 ? "one" : "other");
    var key = "suggestStatus" + form.charAt(0).toUpperCase() + form.slice(1);
    var template = input.dataset[key] || input.dataset.suggestStatusOther || "";
    return template.split("{n}").join(String(n));
  }

  // The suggestions' address for what was typed, keeping any parameter it already has.
  function suggestUrl(input, query) {
    var url = new URL(input.dataset.suggest, window.location.href);
    url.searchParams.set("q", query);
    return url.href;
  }

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
    list.setAttribute("aria-label", input.dataset.suggestLabel || "");
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
      status.textContent = items.length ? countText(input, items.length) : "";
    }

    function fetchSuggestions() {
      var query = input.value;
      if (query.trim().length < 2) { render([]); return; }
      if (query === lastQuery) { return; }
      lastQuery = query;
      fetch(suggestUrl(input, query), {
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
