// The about page's copy buttons: copy the curl example or a segment's SQL, and say so.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    // Each section says so in its own status line: the curl example's, or the segment rules'.
    var status = button.closest("section").querySelector('[data-role="copy-status"]');
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copyTarget).textContent;
      var done = function (message) { status.textContent = message; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { done("Copied to the clipboard."); },
          function () { done("Copy failed: select the text and copy it by hand."); }
        );
      } else {
        var range = document.createRange();
        range.selectNodeContents(document.getElementById(button.dataset.copyTarget));
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        done("Selected: press Ctrl+C (or Cmd+C) to copy.");
      }
    });
  });
})();

// Editing a segment's name, description and strategy, as on the models page: a signed-in analyst's or admin's
// requests go with the session cookie and its CSRF token; anyone else's carry the admin key as the X-API-Key header,
// which lives only in the password field (no name, outside every form) and is never stored. Only the fields that
// changed are sent, so an unchanged description is not recorded as an edit.
(function () {
  "use strict";
  var admin = document.getElementById("admin");
  if (!admin) { return; }
  var keyField = document.getElementById("admin-key");
  var csrf = admin.dataset.csrf || "";
  var api = admin.dataset.apiBase || "/api/v1";

  function key() { return keyField ? keyField.value.trim() : ""; }

  function authHeaders(extra) {
    var headers = extra || {};
    if (csrf) { headers["X-CSRF-Token"] = csrf; } else { headers["X-API-Key"] = key(); }
    return headers;
  }

  function needKey(where) {
    if (csrf || key()) { return false; }
    where.textContent = "Type the admin key in the Admin key field above the segments first.";
    keyField.focus();
    return true;
  }

  function send(url, options, where) {
    return fetch(url, options).then(function (response) {
      if (response.ok) { window.location.reload(); return; }
      return response.json().then(
        function (body) { where.textContent = "Not saved: " + (body.message || ("HTTP " + response.status)); },
        function () { where.textContent = "Not saved: HTTP " + response.status; }
      );
    }).catch(function () { where.textContent = "Not saved: the server could not be reached."; });
  }

  function lines(text) {
    return text.split("\n").map(function (line) { return line.trim(); }).filter(function (line) { return line; });
  }

  document.querySelectorAll(".segment-edit-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = form.querySelector('[data-role="edit-status"]');
      if (needKey(status)) { return; }
      var body = {};
      if (form.name.value !== form.name.defaultValue) { body.name = form.name.value; }
      if (form.description.value !== form.description.defaultValue) { body.description = form.description.value; }
      var actions = form.marketing_strategy;
      if (lines(actions.value).join("\n") !== lines(actions.defaultValue).join("\n")) {
        body.marketing_strategy = lines(actions.value);
      }
      if (!Object.keys(body).length) { status.textContent = "Nothing changed."; return; }
      body.reason = form.reason.value;
      status.textContent = "Saving…";
      send(api + "/clusters/" + form.dataset.segmentId, {
        method: "PATCH",
        headers: authHeaders({ "Content-Type": "application/json" }),
        body: JSON.stringify(body)
      }, status);
    });
  });

  document.querySelectorAll('[data-action="revert"]').forEach(function (button) {
    button.addEventListener("click", function () {
      var status = button.closest(".segment-card").querySelector('[data-role="edit-status"]');
      if (needKey(status)) { return; }
      if (!window.confirm("Put back the text this change replaced?")) { return; }
      send(api + "/clusters/" + button.dataset.segmentId + "/history/" + button.dataset.changeId + "/revert?reason=" +
        encodeURIComponent("reverted on the about page"), { method: "POST", headers: authHeaders() }, status);
    });
  });
})();
