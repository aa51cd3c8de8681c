// The about page's copy button: copies the curl example and says so.
(function () {
  "use strict";
  var status = document.querySelector('[data-role="copy-status"]');
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copyTarget).textContent;
      var done = function (message) { status.textContent = message; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { done("Copied to the clipboard."); },
          function () { done("Copy failed: select the command and copy it by hand."); }
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
