// Live progress of a scan job (server-sent events); the page reloads into the result when it ends.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || !window.EventSource) { return; }
  var bar = document.getElementById("bar");
  var count = document.getElementById("count");
  var source = new EventSource(box.getAttribute("data-events"));
  source.onmessage = function (event) {
    var job = JSON.parse(event.data);
    bar.max = job.total;
    bar.value = job.done;
    count.textContent = job.done + "/" + job.total;
    if (job.status === "done" || job.status === "failed") {
      source.close();
      window.location.reload();
    }
  };
  source.onerror = function () {
    source.close();
    window.setTimeout(function () { window.location.reload(); }, 2000);
  };
})();
