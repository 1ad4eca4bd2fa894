// Live Markdown preview under each section body in the guide admin.
// The text is rendered on the server by the same sanitising renderer as the site.
// The preview's name comes from the page (#editor-guidance), in the editor's language.
(function () {
  "use strict";
  var endpoint = null;
  var name = "";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function attach(textarea) {
    if (textarea.dataset.previewAttached) { return; }
    textarea.dataset.previewAttached = "1";
    var preview = document.createElement("div");
    var timer = null;
    preview.className = "markdown-preview";
    preview.setAttribute("aria-live", "polite");
    if (name) { preview.setAttribute("aria-label", name); }
    textarea.parentNode.appendChild(preview);

    function update() {
      var body = new FormData();
      body.append("body", textarea.value);
      fetch(endpoint, {
        method: "POST",
        body: body,
        headers: { "X-CSRFToken": csrfToken() },
        credentials: "same-origin"
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data) { preview.innerHTML = data.html; } });
    }

    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, 300);
    });
    update();
  }

  function scan() {
    document.querySelectorAll("textarea[name^=sections-][name$=-body]").forEach(function (textarea) {
      if (!/__prefix__/.test(textarea.name)) { attach(textarea); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("button[formaction$='markdown-preview/']");
    if (!button) { return; }
    endpoint = button.getAttribute("formaction");
    var guidance = document.getElementById("editor-guidance");
    if (guidance) { name = JSON.parse(guidance.textContent).preview; }
    scan();
    document.addEventListener("formset:added", scan);
  });
})();
