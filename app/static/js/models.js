// The model versions page: train with progress, activate and roll back, each with the admin key sent as
// the X-API-Key header. The key lives only in the password field at the top of this tab (no name, outside every
// form, so no form ever submits it); it is never stored. The page loads this script only when admin keys are on.
(function () {
  "use strict";
  var admin = document.getElementById("admin");
  if (!admin) { return; }
  var keyField = document.getElementById("admin-key");
  // Signed in: the session cookie goes with every same-site fetch, and its CSRF token in a header.
  var csrf = admin.dataset.csrf || "";
  // The segmentation's own API: /api/v1 for the default one, /api/v1/segmentations/NAME for the others.
  var api = admin.dataset.apiBase || "/api/v1";
  var actionStatus = document.querySelector('[data-role="action-status"]');
  var trainStatus = document.getElementById("train-status");
  var progress = document.getElementById("train-progress");

  function key() { return keyField ? keyField.value.trim() : ""; }

  function authHeaders(extra) {
    var headers = extra || {};
    if (csrf) { headers["X-CSRF-Token"] = csrf; } else { headers["X-API-Key"] = key(); }
    return headers;
  }

  function errorText(response) {
    return response.json().then(
      function (body) { return body.message || ("HTTP " + response.status); },
      function () { return "HTTP " + response.status; }
    );
  }

  function needKey(where) {
    if (csrf || key()) { return false; }
    where.textContent = "Type the admin key in the Admin key field at the top of the page first.";
    keyField.focus();
    return true;
  }

  function post(url) {
    return fetch(url, { method: "POST", headers: authHeaders() }).then(function (response) {
      if (!response.ok) { return errorText(response).then(function (m) { throw new Error(m); }); }
      return response.json();
    });
  }

  document.querySelectorAll('[data-action="activate"]').forEach(function (button) {
    button.addEventListener("click", function () {
      var version = button.dataset.version;
      if (needKey(actionStatus)) { return; }
      if (!window.confirm("Activate version " + version + "? Every worker switches to it within a second.")) { return; }
      post(api + "/models/" + encodeURIComponent(version) + "/activate?reason=" + encodeURIComponent("activated on the models page"))
        .then(function () { window.location.reload(); })
        .catch(function (error) { actionStatus.textContent = "Not activated: " + error.message; });
    });
  });

  // A label is kept beside the version (its signed files never change); an empty answer removes it.
  // Retraining proposals: accept activates the candidate, dismiss leaves the active version.
  document.querySelectorAll('[data-action="proposal"]').forEach(function (button) {
    button.addEventListener("click", function () {
      var decision = button.dataset.decision;
      if (needKey(actionStatus)) { return; }
      if (decision === "accept" && !window.confirm("Activate this proposal's candidate? Every worker switches to it within a second.")) { return; }
      post("/api/v1/proposals/" + encodeURIComponent(button.dataset.proposal) + "/" + decision)
        .then(function () { window.location.reload(); })
        .catch(function (error) { actionStatus.textContent = "Not done: " + error.message; });
    });
  });

  document.querySelectorAll('[data-action="label"]').forEach(function (button) {
    button.addEventListener("click", function () {
      var version = button.dataset.version;
      if (needKey(actionStatus)) { return; }
      var label = window.prompt("A label for version " + version + " (at most 80 characters; empty removes it):", button.dataset.label);
      if (label === null) { return; }
      fetch(api + "/models/" + encodeURIComponent(version), {
        method: "PATCH",
        headers: authHeaders({ "Content-Type": "application/json" }),
        body: JSON.stringify({ label: label })
      }).then(function (response) {
        if (!response.ok) { return errorText(response).then(function (m) { throw new Error(m); }); }
        window.location.reload();
      }).catch(function (error) { actionStatus.textContent = "Not labelled: " + error.message; });
    });
  });

  // The button is only there when the history has a version to go back to.
  var rollback = document.querySelector('[data-action="rollback"]');
  if (rollback) rollback.addEventListener("click", function () {
    if (needKey(actionStatus)) { return; }
    if (!window.confirm("Roll back to the previously active version?")) { return; }
    post(api + "/models/rollback?reason=" + encodeURIComponent("rolled back on the models page"))
      .then(function () { window.location.reload(); })
      .catch(function (error) { actionStatus.textContent = "Not rolled back: " + error.message; });
  });

  function describe(job) {
    var p = job.progress || {};
    if (job.state === "queued") { return "Queued…"; }
    if (job.state === "failed") { return "Failed: " + job.error; }
    if (job.state === "succeeded") {
      return "Done: version " + job.version + (job.activated ? " (now active)" : " (not active)") + ". Reloading…";
    }
    return window.jobProgress.describe(p) + "…";
  }

  function percent(job) {
    var p = job.progress || {};
    if (job.state === "succeeded") { return 100; }
    if (p.stage === "k_sweep" && p.of) { return 10 + Math.round(75 * p.step / p.of); }
    if (p.stage === "fitting") { return 88; }
    if (p.stage === "saving") { return 95; }
    return p.rows_read ? 8 : 3;
  }

  function follow(url) {
    fetch(url).then(function (response) { return response.json(); }).then(function (job) {
      trainStatus.textContent = describe(job);
      progress.value = percent(job);
      if (job.state === "succeeded") { window.setTimeout(function () { window.location.reload(); }, 800); return; }
      if (job.state !== "failed") { window.setTimeout(function () { follow(url); }, 500); }
    }).catch(function () { trainStatus.textContent = "Lost contact with the server; retrying…"; window.setTimeout(function () { follow(url); }, 1500); });
  }

  document.getElementById("train-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (needKey(trainStatus)) { return; }
    var form = event.target;
    var data = new FormData();
    if (form.file.files.length) { data.append("file", form.file.files[0]); }
    data.append("k", form.k.value);
    data.append("seed", form.seed.value || "42");
    data.append("sweep", form.sweep.checked ? "true" : "false");
    data.append("activate", form.activate.checked ? "true" : "false");
    trainStatus.textContent = "Uploading…";
    progress.hidden = false;
    progress.value = 1;
    fetch(api + "/models", { method: "POST", headers: authHeaders(), body: data }).then(function (response) {
      if (response.status !== 202) {
        return errorText(response).then(function (m) { trainStatus.textContent = "Not started: " + m; progress.hidden = true; });
      }
      follow(response.headers.get("Location"));
    });
  });
})();
