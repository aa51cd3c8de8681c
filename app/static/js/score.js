// The /score page: drag and drop onto the file picker, and an upload with a progress bar. The answer's messages and
// results replace the page's, while the form stays as it is: the chosen file and the options are kept for another
// try. Without JavaScript the form posts as usual and the server answers with the same page.
(function () {
  "use strict";

  var form = document.getElementById("score-form");
  if (!form) {
    return;
  }
  var input = document.getElementById("score-file");
  var zone = document.getElementById("dropzone");
  var chosen = document.getElementById("score-file-name");
  var progress = document.getElementById("score-progress");
  var bar = document.getElementById("score-progress-bar");
  var text = document.getElementById("score-progress-text");
  var button = document.getElementById("score-submit");
  var options = form.querySelector("details.options");

  function showChosen() {
    chosen.textContent = input.files.length ? "Selected: " + input.files[0].name : "";
  }

  input.addEventListener("change", showChosen);
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("is-dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () {
      zone.classList.remove("is-dragging");
    });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      showChosen();
    }
  });

  function done() {
    progress.hidden = true;
    button.disabled = false;
  }

  // Moves focus to what the answer says: the problem, else the result's heading.
  function reveal() {
    var target = document.getElementById("score-error") || document.getElementById("result-title");
    if (target) {
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "start" });
    }
  }

  function swap(id, fresh) {
    document.getElementById(id).replaceWith(fresh.getElementById(id));
  }

  // A banner like the server's, for answers that are not the /score page.
  function showProblem(title, message) {
    var banner = document.createElement("div");
    banner.id = "score-error";
    banner.className = "banner";
    banner.setAttribute("role", "alert");
    banner.tabIndex = -1;
    var lead = document.createElement("strong");
    lead.textContent = title;
    var detail = document.createElement("span");
    detail.textContent = message;
    banner.append(lead, " ", detail);
    document.getElementById("score-messages").replaceChildren(banner);
    document.getElementById("score-outcome").replaceChildren();
    done();
    reveal();
  }

  function answered(request) {
    var page = new DOMParser().parseFromString(request.responseText, "text/html");
    if (page.getElementById("score-page")) {
      // autofocus is for the page without JavaScript; here reveal() moves the focus.
      page.querySelectorAll("[autofocus]").forEach(function (element) { element.removeAttribute("autofocus"); });
      swap("score-messages", page);
      swap("score-outcome", page);
      var freshOptions = page.querySelector("#score-form details.options");
      if (freshOptions && freshOptions.open) {
        options.open = true; // the server opens them when an option may be the fix
      }
      done();
      reveal();
      return;
    }
    // The error page of a refusal before the form was read (too many requests, no room to keep the file).
    var message = page.getElementById("error-message");
    var reason = message ? message.textContent.trim() : "";
    showProblem(
      "The file could not be scored.",
      // After a full stop: the reason, worded to follow "the file is…" elsewhere, starts a sentence here.
      reason ? reason.charAt(0).toUpperCase() + reason.slice(1) : "The server answered " + request.status + ". Try again."
    );
  }

  form.addEventListener("submit", function (event) {
    if (!input.files.length) {
      return; // the browser's own "required" message
    }
    event.preventDefault();
    var request = new XMLHttpRequest(); // not fetch: only XMLHttpRequest reports the upload's progress
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "text/html");
    progress.hidden = false;
    button.disabled = true;
    bar.value = 0;
    text.textContent = "Uploading…";
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((e.loaded / e.total) * 100);
        text.textContent = "Uploading… " + bar.value + "%";
      }
    });
    request.upload.addEventListener("load", function () {
      bar.removeAttribute("value"); // indeterminate while the server scores
      text.textContent = "Scoring…";
    });
    request.addEventListener("load", function () {
      answered(request);
    });
    request.addEventListener("error", function () {
      showProblem("The upload failed.", "The server could not be reached, or closed the connection. Try again.");
    });
    request.send(new FormData(form));
  });
})();
