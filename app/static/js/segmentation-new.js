// /models: upload a file for a new segmentation with the admin key as the X-API-Key header (the key stays in the
// field at the top of the page, outside every form). The server answers with the column chooser, or an error page
// whose message is shown here, beside the form.
(function () {
  "use strict";
  var form = document.getElementById("segmentation-upload-form");
  var keyField = document.getElementById("admin-key");
  var admin = document.getElementById("admin");
  // Signed in as an admin: the session cookie goes with the post, no key field.
  var csrf = admin ? admin.dataset.csrf || "" : "";
  if (!form || (!keyField && !csrf)) { return; }
  var status = document.getElementById("segmentation-upload-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var key = keyField ? keyField.value.trim() : "";
    if (!key && !csrf) {
      status.textContent = "Type the admin key in the Admin key field at the top of the page first.";
      keyField.focus();
      return;
    }
    status.textContent = "Uploading…";
    var headers = csrf ? { "X-CSRF-Token": csrf } : { "X-API-Key": key };
    fetch(form.action, { method: "POST", headers: headers, body: new FormData(form) })
      .then(function (response) {
        if (response.ok && response.redirected) { window.location.assign(response.url); return null; }
        return response.text().then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var message = page.getElementById("error-message");
          status.textContent = "Not uploaded: " + (message ? message.textContent : "HTTP " + response.status);
        });
      })
      .catch(function () { status.textContent = "Not uploaded: the server could not be reached."; });
  });
})();
