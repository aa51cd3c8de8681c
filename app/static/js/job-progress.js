// What a running training job is doing, in words, from its `progress`: shared by the Models page's training form
// (models.js) and the notice that follows a new segmentation's first training (job-follow.js), so neither shows
// the job's internal stage names ("k_sweep", "building_rfm").
window.jobProgress = (function () {
  "use strict";
  var STAGES = {
    reading: "Reading the file",
    cleaning: "Cleaning the rows",
    building_rfm: "Building each customer's recency, frequency and monetary value",
    fitting: "Fitting the segments",
    saving: "Saving the version"
  };

  function describe(p) {
    p = p || {};
    if (p.stage === "k_sweep") { return "Comparing k: step " + p.step + " of " + p.of + " (k=" + p.k + ")"; }
    if (p.stage === "building_rfm" && p.of) {
      return STAGES.building_rfm + ": " + Math.round(100 * p.bytes_read / p.of) + "% of the file";
    }
    var words = STAGES[p.stage] || "Starting";
    if (p.rows_read) { return "Read " + p.rows_read.toLocaleString("en") + " rows; " + words.toLowerCase(); }
    return words;
  }

  return { describe: describe };
})();
