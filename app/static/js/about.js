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
