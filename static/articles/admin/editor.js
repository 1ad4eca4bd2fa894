// The guide change form: textareas that grow with their text, and live length
// counters under the title and summary. The limits and every text shown come from
// the page (#editor-guidance, rendered by articles/templatetags/editor_guidance.py);
// without JavaScript the same limits show as static help text.
(function () {
  "use strict";
  var GROWING = "textarea[name^=sections-][name$=-body], textarea[name=summary], textarea[name=change_note]";
  var ANNOUNCE_AFTER = 1000; // ms of quiet typing before screen readers hear the count

  function grow(textarea) {
    textarea.style.height = "auto";
    textarea.style.height = textarea.scrollHeight + 2 + "px";
  }

  function autoGrow() {
    if (window.CSS && CSS.supports && CSS.supports("field-sizing", "content")) {
      document.querySelectorAll(GROWING).forEach(function (textarea) {
        textarea.style.setProperty("field-sizing", "content");
      });
      return;
    }
    document.querySelectorAll(GROWING).forEach(grow);
    document.addEventListener("input", function (event) {
      if (event.target.matches && event.target.matches(GROWING)) { grow(event.target); }
    });
    document.addEventListener("formset:added", function () {
      document.querySelectorAll(GROWING).forEach(grow);
    });
  }

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (match, key) {
      return key in values ? String(values[key]) : match;
    });
  }

  function counters(data) {
    var languageField = document.querySelector("select[name=language]");

    function language() {
      var code = languageField ? languageField.value : data.language;
      return data.limits[code] ? code : data.language;
    }

    function attach(name) {
      var field = document.querySelector("[name=" + name + "]");
      var guidance = document.querySelector(".length-guidance[data-length-for=" + name + "]");
      if (!field || !guidance) { return null; }
      // Read aloud only after a pause: the visible text follows every keystroke.
      var status = document.createElement("span");
      var timer = null;
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      // Outside the help text, which describes the field: read once, not twice.
      var help = guidance.closest(".help") || guidance.parentNode;
      help.parentNode.insertBefore(status, help.nextSibling);

      function state(count, numbers) {
        if (count > numbers.limit) { return "cut"; }
        if (count > numbers.recommended) { return "long"; }
        if (numbers.minimum && count > 0 && count < numbers.minimum) { return "short"; }
        return "fits";
      }

      function update(announce) {
        var numbers = data.limits[language()][name];
        // Characters, not UTF-16 units: a Chinese character or an emoji counts one.
        var count = Array.from(field.value).length;
        var current = state(count, numbers);
        var text = format(data.texts[current], {
          count: count, recommended: numbers.recommended,
          limit: numbers.limit, minimum: numbers.minimum
        });
        guidance.textContent = text;
        guidance.classList.add("length-counter");
        guidance.dataset.state = current;
        if (announce) {
          clearTimeout(timer);
          timer = setTimeout(function () { status.textContent = text; }, ANNOUNCE_AFTER);
        }
      }

      field.addEventListener("input", function () { update(true); });
      update(false);
      return update;
    }

    var updates = ["title", "summary"].map(attach).filter(Boolean);
    if (languageField) {
      languageField.addEventListener("change", function () {
        updates.forEach(function (update) { update(true); });
      });
    }
  }

  // Select2 (Django's autocomplete) names its box by the value chosen, so an empty
  // one has no name: name each by its field (articles.admin.NamedAutocompleteSelect).
  function nameAutocompletes(root) {
    root.querySelectorAll("select[data-field-label]").forEach(function (select) {
      var box = document.getElementById("select2-" + select.id + "-container");
      if (box) { box.setAttribute("aria-label", select.dataset.fieldLabel); }
    });
  }

  if (window.django && django.jQuery) {
    // Queued after Django's autocomplete.js, which sets Select2 up when the page is ready.
    django.jQuery(function () { nameAutocompletes(document); });
    document.addEventListener("formset:added", function (event) { nameAutocompletes(event.target); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    autoGrow();
    var source = document.getElementById("editor-guidance");
    if (source) { counters(JSON.parse(source.textContent)); }
  });
})();
