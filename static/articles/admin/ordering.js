// Order and room on the guide change form. django-admin-sortable2 makes saved
// sections, citations and related guides draggable (by a section's heading bar or a
// row's name); this adds what dragging leaves out:
// - Move up and Move down buttons on each saved one, for the keyboard and for
//   anyone who cannot drag, with the new position read out;
// - the order field kept in step with the order shown, and hidden (articles/admin.py
//   keeps it a number field, so without JavaScript the editor types the order; in a
//   table the buttons take its place in the order column);
// - Collapse and Expand on each section (or provision, on a law), and on all at once,
//   so a long guide can be read as its headings. A link to a collapsed section (the
//   checks panel's) opens it.
// Texts come from the page (#editor-guidance, articles/templatetags/editor_guidance.py).
(function () {
  "use strict";
  var texts = null;
  // What names a row as typed: a section's heading, a provision's label.
  var NAME_FIELDS = "input[name$='-heading'], input[name*='-label_']";

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (match, key) {
      return key in values ? String(values[key]) : match;
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function isTabular(group) { return !!group.querySelector("table"); }

  // The saved ones, in the order shown (the ones sortable2 lets the editor drag).
  function rows(group) {
    var selector = isTabular(group) ? "tbody > tr.has_original" : ".inline-related.has_original";
    return Array.prototype.slice.call(group.querySelectorAll(selector));
  }

  // What the row is called, as the editor sees it now.
  function label(row) {
    var typed = row.querySelector(NAME_FIELDS);
    var chosen = row.matches("tr") && row.querySelector("select option:checked");
    if (typed && typed.value.trim()) { return typed.value.trim(); }
    if (chosen && chosen.value) { return chosen.textContent.trim(); }
    var shown = row.querySelector(".inline_label, td.original > p");
    return shown ? shown.firstChild.textContent.trim() : "";
  }

  function renumber(group) {
    rows(group).forEach(function (row, index) {
      var order = row.querySelector("input._reorder_");
      if (order) { order.value = String(index + 1); }
    });
  }

  // Buttons show where they can move the row, and name it for screen readers.
  function refresh(group) {
    var all = rows(group);
    all.forEach(function (row, index) {
      var up = row.querySelector(".order-move[data-move=up]");
      var down = row.querySelector(".order-move[data-move=down]");
      if (!up) { return; }
      up.hidden = index === 0;
      down.hidden = index === all.length - 1;
    });
    group.querySelectorAll(".order-control-name").forEach(function (name) {
      name.textContent = " " + label(name.closest("tr, .inline-related"));
    });
  }

  function announce(group, row) {
    var all = rows(group);
    group.querySelector(".order-status").textContent = format(texts.moved, {
      item: label(row), position: all.indexOf(row) + 1, count: all.length
    });
  }

  // Puts `row` before `next` (null: at the end), with the row of its errors in a table.
  function place(row, parent, next) {
    var errors = row.previousElementSibling;
    parent.insertBefore(row, next);
    if (errors && errors.classList.contains("row-form-errors")) { parent.insertBefore(errors, row); }
  }

  // A form shown again with errors lists the rows as saved, with the numbers the
  // editor had chosen: show them in that order.
  function showPostedOrder(group) {
    var all = rows(group);
    if (all.length < 2) { return; }
    var number = function (row) {
      var order = row.querySelector("input._reorder_");
      return order ? Number(order.value) || 0 : 0;
    };
    var sorted = all.slice().sort(function (a, b) {
      return number(a) - number(b) || all.indexOf(a) - all.indexOf(b);
    });
    if (sorted.every(function (row, index) { return row === all[index]; })) { return; }
    var parent = all[0].parentNode;
    var end = all[all.length - 1].nextSibling;
    sorted.forEach(function (row) { place(row, parent, end); });
  }

  function move(group, row, direction) {
    var all = rows(group);
    var index = all.indexOf(row);
    var other = all[direction === "up" ? index - 1 : index + 1];
    if (!other) { return; }
    var next = direction === "up" ? other : other.nextSibling;
    if (direction === "up" && other.previousElementSibling &&
        other.previousElementSibling.classList.contains("row-form-errors")) {
      next = other.previousElementSibling;  // above the row of the other's errors
    }
    place(row, other.parentNode, next);
    renumber(group);
    refresh(group);
    announce(group, row);
    // Moving a node drops its focus; at the top or bottom the pressed button is gone.
    var pressed = row.querySelector(".order-move[data-move=" + direction + "]");
    (pressed.hidden ? row.querySelector(".order-move:not([hidden])") : pressed).focus();
  }

  function controlButton(className, text, withName) {
    var button = element("button", "button " + className);
    button.type = "button";
    button.appendChild(element("span", "", text));
    if (withName) { button.appendChild(element("span", "visually-hidden order-control-name")); }
    return button;
  }

  function addMoveButtons(group, row) {
    var controls = element("span", "order-controls");
    ["up", "down"].forEach(function (direction) {
      var button = controlButton("order-move", texts[direction], true);
      button.dataset.move = direction;
      button.addEventListener("click", function () { move(group, row, direction); });
      controls.appendChild(button);
    });
    // In a table, in the order column, in place of the number; on a section, in its bar.
    var place = isTabular(group) ? row.querySelector("td.field-position") : row.querySelector("h3");
    place.appendChild(controls);
  }

  function setCollapsed(row, collapsed) {
    var toggle = row.querySelector(".section-toggle");
    if (!toggle) { return; }
    row.classList.toggle("is-collapsed", collapsed);
    toggle.setAttribute("aria-expanded", String(!collapsed));
    toggle.firstChild.textContent = collapsed ? texts.expand : texts.collapse;
  }

  function addToggle(row) {
    if (row.querySelector(".section-toggle") || row.classList.contains("empty-form")) { return; }
    var toggle = controlButton("section-toggle", texts.collapse, true);
    toggle.setAttribute("aria-expanded", "true");
    toggle.addEventListener("click", function () {
      setCollapsed(row, !row.classList.contains("is-collapsed"));
    });
    row.querySelector("h3").appendChild(toggle);
    toggle.querySelector(".order-control-name").textContent = " " + label(row);
  }

  function sections(group) {
    return Array.prototype.slice.call(group.querySelectorAll(".inline-related:not(.empty-form)"));
  }

  function addCollapsing(group) {
    var bar = element("div", "section-toggles");
    var name = group.querySelector("h2").textContent.trim();
    [["collapseAll", true], ["expandAll", false]].forEach(function (pair) {
      var button = controlButton("", texts[pair[0]], false);
      button.appendChild(element("span", "visually-hidden", " " + name));
      button.addEventListener("click", function () {
        sections(group).forEach(function (row) { setCollapsed(row, pair[1]); });
      });
      bar.appendChild(button);
    });
    group.querySelector("h2").insertAdjacentElement("afterend", bar);
    sections(group).forEach(addToggle);
    document.addEventListener("formset:added", function (event) {
      if (group.contains(event.target)) { addToggle(event.target); }
    });
  }

  // A link to a section (the checks panel's) opens it if it is collapsed.
  function reveal(id) {
    var target = id && document.getElementById(decodeURIComponent(id));
    var row = target && target.closest(".inline-related.is-collapsed");
    if (row) { setCollapsed(row, false); }
  }

  // Only where the editor may change the order (a view-only form has no order
  // field): elsewhere no buttons, and no dragging either (sortable2 sets up the
  // fieldsets marked "sortable" when the page has loaded, after this).
  function mayOrder(group) {
    return !!group.querySelector("input._reorder_");
  }

  function enhance(group) {
    if (!mayOrder(group)) {
      group.querySelector("fieldset.sortable").classList.remove("sortable");
      if (!isTabular(group)) { addCollapsing(group); }
      return;
    }
    group.classList.add("ordering-managed");
    var heading = group.querySelector("h2");
    var hint = element("p", "help order-hint", texts.hint);
    heading.insertAdjacentElement("afterend", hint);
    var status = element("p", "visually-hidden order-status");
    status.setAttribute("role", "status");
    hint.insertAdjacentElement("afterend", status);
    showPostedOrder(group);
    rows(group).forEach(function (row) { addMoveButtons(group, row); });
    refresh(group);
    // After a drag (SortableJS's "end" event): the same numbering and read-out.
    group.addEventListener("end", function (event) {
      renumber(group);
      refresh(group);
      if (event.item && event.oldIndex !== event.newIndex) { announce(group, event.item); }
    });
    group.addEventListener("input", function (event) {
      if (event.target.matches(NAME_FIELDS)) { refresh(group); }
    });
    group.addEventListener("change", function (event) {
      if (event.target.matches("select")) { refresh(group); }
    });
    if (!isTabular(group)) { addCollapsing(group); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("editor-guidance");
    if (!source) { return; }
    texts = JSON.parse(source.textContent).ordering;
    document.querySelectorAll("fieldset.sortable").forEach(function (fieldset) {
      enhance(fieldset.closest(".inline-group"));
    });
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[href^='#']");
      if (link) { reveal(link.getAttribute("href").slice(1)); }
    });
  });
})();
