// The notifications page: list, create, test and delete subscriptions and read their delivery log. A signed-in
// admin's requests go with the session cookie and its CSRF token; anyone else's carry the admin key as X-API-Key,
// which lives only in the password field and is never stored. Rows are built with textContent, so nothing from the
// server is read as markup.
(function () {
  "use strict";
  var admin = document.getElementById("admin");
  if (!admin) { return; }
  var keyField = document.getElementById("admin-key");
  var csrf = admin.dataset.csrf || "";
  var api = admin.dataset.apiBase || "/api/v1";
  var listStatus = document.getElementById("list-status");
  var table = document.getElementById("subscriptions");
  var logSection = document.getElementById("delivery-log");

  function key() { return keyField ? keyField.value.trim() : ""; }

  function needKey(where) {
    if (csrf || key()) { return false; }
    where.textContent = "Type the admin key first.";
    keyField.focus();
    return true;
  }

  function call(method, path, body) {
    var headers = csrf ? { "X-CSRF-Token": csrf } : { "X-API-Key": key() };
    if (body) { headers["Content-Type"] = "application/json"; }
    return fetch(api + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (response) {
        if (response.status === 204) { return null; }
        return response.json().then(function (data) {
          if (!response.ok) { throw new Error(data.message || ("HTTP " + response.status)); }
          return data;
        });
      });
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    row.appendChild(td);
    return td;
  }

  function button(label, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button button-small";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function showLog(id) {
    call("GET", "/webhooks/" + id + "/deliveries").then(function (data) {
      var body = logSection.querySelector("tbody");
      body.replaceChildren();
      data.deliveries.forEach(function (d) {
        var row = document.createElement("tr");
        [d.event, d.status, d.attempts, d.last_error, d.created_at].forEach(function (v) { cell(row, v); });
        body.appendChild(row);
      });
      logSection.querySelector('[data-role="subscription"]').textContent = String(id);
      logSection.hidden = false;
    }, function (error) { listStatus.textContent = error.message; });
  }

  function load() {
    if (needKey(listStatus)) { return; }
    call("GET", "/webhooks").then(function (data) {
      var body = table.querySelector("tbody");
      body.replaceChildren();
      data.subscriptions.forEach(function (s) {
        var row = document.createElement("tr");
        cell(row, s.id);
        cell(row, s.url || s.email);
        cell(row, s.events.join(", "));
        var actions = cell(row, "");
        actions.appendChild(button("Deliveries", function () { showLog(s.id); }));
        actions.appendChild(button("Send test event", function () {
          call("POST", "/webhooks/" + s.id + "/test").then(function () {
            listStatus.textContent = "Test event queued for subscription " + s.id + ".";
            showLog(s.id);
          }, function (error) { listStatus.textContent = error.message; });
        }));
        actions.appendChild(button("Delete", function () {
          call("DELETE", "/webhooks/" + s.id).then(load, function (error) { listStatus.textContent = error.message; });
        }));
        body.appendChild(row);
      });
      table.hidden = data.subscriptions.length === 0;
      listStatus.textContent = data.subscriptions.length ? "" : "No subscriptions yet.";
    }, function (error) { listStatus.textContent = error.message; });
  }

  document.getElementById("load-subscriptions").addEventListener("click", load);
  if (csrf) { load(); }  // signed in: nothing to type first
  document.getElementById("new-subscription").addEventListener("submit", function (event) {
    event.preventDefault();
    var status = document.getElementById("new-status");
    var secret = document.getElementById("new-secret");
    if (needKey(status)) { return; }
    var target = document.getElementById("target").value.trim();
    var events = Array.prototype.map.call(
      document.querySelectorAll('input[name="events"]:checked'), function (box) { return box.value; }
    );
    var body = target.indexOf("@") > 0 && target.indexOf("://") < 0 ? { email: target } : { url: target };
    body.events = events;
    call("POST", "/webhooks", body).then(function (created) {
      status.textContent = "Subscription " + created.id + " created.";
      secret.hidden = !created.secret;
      secret.querySelector('[data-role="secret"]').textContent = created.secret || "";
      load();
    }, function (error) { status.textContent = error.message; secret.hidden = true; });
  });
}());
