// Live progress of a survey job (server-sent events): done/total, rate, time left, counts; the
// page reloads when the job leaves the queued/running states (paused, cancelled, done, failed).
(function () {
  "use strict";
  var box = document.getElementById("survey");
  if (!box || !window.EventSource) { return; }
  var bar = document.getElementById("bar");
  var text = function (id, value) { document.getElementById(id).textContent = value; };
  var source = new EventSource(box.getAttribute("data-events"));
  source.onmessage = function (event) {
    var job = JSON.parse(event.data);
    bar.max = job.total;
    bar.value = job.done;
    text("count", job.done + "/" + job.total);
    var status = document.getElementById("status");
    status.textContent = status.getAttribute("data-" + job.status) || job.status;
    text("rate", job.rate === null ? "-" : job.rate.toFixed(1));
    text("eta", job.eta_seconds === null ? "-" : String(job.eta_seconds));
    ["ok", "unknown"].forEach(function (key) { text("n-" + key, String(job.counts.by_status[key] || 0)); });
    text("n-refused", String(job.counts.refused));
    Object.keys(job.counts.by_verdict).forEach(function (key) {
      var cell = document.getElementById("v-" + key);
      if (cell) { cell.textContent = String(job.counts.by_verdict[key]); }
    });
    if (job.status !== box.getAttribute("data-status") && job.status !== "running") {
      source.close();
      window.location.reload();
    }
  };
  source.onerror = function () {
    source.close();
    window.setTimeout(function () { window.location.reload(); }, 2000);
  };
})();
