// The /score page: drag and drop onto the file picker, and an upload with a progress bar. Without
// JavaScript the form posts as usual and the server answers with the same page.
(function () {
  "use strict";

  function init() {
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

    form.addEventListener("submit", function (event) {
      if (!input.files.length) {
        return; // the browser's own "required" message
      }
      event.preventDefault();
      var request = new XMLHttpRequest();
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
        var page = new DOMParser().parseFromString(request.responseText, "text/html");
        var fresh = page.getElementById("score-page");
        if (!fresh) {
          fail("The server answered " + request.status + ". Try again.");
          return;
        }
        document.getElementById("score-page").replaceWith(fresh);
        init();
        var target = document.getElementById("score-result") || document.getElementById("score-error");
        if (target) {
          target.scrollIntoView();
        }
      });
      request.addEventListener("error", function () {
        fail("The upload failed: the server could not be reached. Try again.");
      });
      request.send(new FormData(form));

      function fail(message) {
        bar.value = 0;
        text.textContent = message;
        button.disabled = false;
      }
    });
  }

  init();
})();
