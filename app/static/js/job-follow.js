// The /models page after a new segmentation was created: follow its first training job and reload the page once
// the version exists. Without JavaScript the notice asks for a reload instead.
(function () {
  "use strict";
  var notice = document.getElementById("job-started");
  if (!notice) { return; }
  var status = notice.querySelector('[data-role="job-status"]');
  var url = notice.dataset.jobUrl;
  function follow() {
    fetch(url).then(function (response) { return response.json(); }).then(function (job) {
      if (job.state === "succeeded") {
        status.textContent = "Done: version " + job.version + ". Reloading…";
        var target = new URL(window.location.href);
        target.searchParams.delete("job");
        window.setTimeout(function () { window.location.replace(target.toString()); }, 500);
        return;
      }
      if (job.state === "failed") { status.textContent = "Training failed: " + job.error; return; }
      status.textContent = job.state === "queued" ? "Queued…" : "Training: " + window.jobProgress.describe(job.progress) + "…";
      window.setTimeout(follow, 700);
    }).catch(function () { window.setTimeout(follow, 1500); });
  }
  follow();
})();
