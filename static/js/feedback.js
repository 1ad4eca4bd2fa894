// "Was this page helpful?" without a page reload. The form works the same without it.
// What the script says comes from the form's data-* attributes, in the page's language
// (templates/includes/feedback.html): no interface text is written here.
(function () {
  "use strict";

  function text(form, name) {
    return form.dataset[name] || "";
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
      credentials: "same-origin"
    }).then(function (response) { return response.json(); });
  }

  function commentForm(url, status, texts) {
    var form = document.createElement("form");
    var label = document.createElement("label");
    var textarea = document.createElement("textarea");
    var button = document.createElement("button");
    form.className = "feedback__comment";
    form.method = "post";
    form.action = url;
    textarea.id = "feedback-comment";
    textarea.name = "comment";
    textarea.rows = 4;
    textarea.maxLength = 500;
    label.htmlFor = textarea.id;
    label.textContent = text(texts, "commentLabel");
    button.type = "submit";
    button.textContent = text(texts, "commentButton");
    form.append(label, textarea, button);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      post(url, new FormData(form)).then(function (data) {
        status.textContent = data.error || text(texts, "thanksComment");
        if (!data.error) { form.remove(); }
      }).catch(function () { form.submit(); });
    });
    return form;
  }

  document.querySelectorAll("form[data-feedback]").forEach(function (form) {
    var status = form.parentNode.querySelector(".feedback__status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      if (event.submitter) { data.append(event.submitter.name, event.submitter.value); }
      post(form.action, data).then(function (result) {
        status.textContent = result.error || text(form, "thanks");
        form.hidden = true;
        if (result.ask_comment) {
          var comment = commentForm(result.comment_url, status, form);
          form.parentNode.appendChild(comment);
          comment.querySelector("textarea").focus();
        }
      }).catch(function () {
        // Post the form as without the script, with the answer that was clicked
        // (submit() sends no button's value of its own).
        if (event.submitter) {
          var answer = document.createElement("input");
          answer.type = "hidden";
          answer.name = event.submitter.name;
          answer.value = event.submitter.value;
          form.append(answer);
        }
        form.submit();
      });
    });
  });
})();

// Print the legal basis expanded, also in browsers without ::details-content.
(function () {
  "use strict";
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (details) {
      details.open = true;
      opened.push(details);
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (details) { details.open = false; });
    opened = [];
  });
})();
