// /account: create and revoke personal API keys through /api/v1/auth/keys, with the session's CSRF token in a
// header. A new key is shown once, in the page; it is never stored by the page.
(function () {
  "use strict";
  var section = document.getElementById("keys");
  if (!section) { return; }
  var csrf = section.dataset.csrf;
  var status = document.getElementById("key-status");

  function send(method, url, body) {
    var headers = { "X-CSRF-Token": csrf };
    if (body) { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (response) {
        if (response.ok) { return response.status === 204 ? null : response.json(); }
        return response.json().then(
          function (error) { throw new Error(error.message || "HTTP " + response.status); },
          function () { throw new Error("HTTP " + response.status); }
        );
      });
  }

  document.getElementById("key-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    send("POST", "/api/v1/auth/keys", { name: form.name.value, role: form.role.value }).then(function (key) {
      document.getElementById("new-key-value").textContent = key.key;
      document.getElementById("new-key").hidden = false;
      status.textContent = "Created " + key.name + ". Reload the page to see it in the list.";
    }).catch(function (error) { status.textContent = "Not created: " + error.message; });
  });

  document.querySelectorAll('[data-action="revoke"]').forEach(function (button) {
    button.addEventListener("click", function () {
      send("DELETE", "/api/v1/auth/keys/" + encodeURIComponent(button.dataset.key)).then(function () {
        window.location.reload();
      }).catch(function (error) { status.textContent = "Not revoked: " + error.message; });
    });
  });
})();
