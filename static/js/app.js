/* Progressive extras; every page works without this file.
   1. "Use my location": fills the form's lat/lon from the browser's geolocation and submits.
   2. Clip pages: posts the watched fraction on pause/ended (one idempotency key per page view). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-geolocate-button]");
    if (!button) return;
    var form = button.closest("form");
    var status = form.querySelector(".geo-status");
    if (!navigator.geolocation) {
      if (status) status.textContent = button.getAttribute("data-unsupported") || "";
      return;
    }
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.querySelector("[name=lat]").value = pos.coords.latitude.toFixed(5);
      form.querySelector("[name=lon]").value = pos.coords.longitude.toFixed(5);
      form.submit();
    }, function () {
      button.disabled = false;
      if (status) status.textContent = button.getAttribute("data-error") || "";
    }, { timeout: 10000, maximumAge: 600000 });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var video = document.querySelector("video[data-watch-url]");
    var tokenInput = document.querySelector(".watch-token [name=csrfmiddlewaretoken]");
    if (!video || !tokenInput) return;  // not signed in: nothing to record
    var furthest = 0;
    video.addEventListener("timeupdate", function () {
      if (video.duration > 0) furthest = Math.max(furthest, video.currentTime / video.duration);
    });
    function report() {
      if (!(video.duration > 0)) return;
      var data = new FormData();
      data.append("csrfmiddlewaretoken", tokenInput.value);
      data.append("fraction", Math.min(1, Math.max(furthest, video.currentTime / video.duration)).toFixed(3));
      data.append("view_id", video.getAttribute("data-view-id"));
      fetch(video.getAttribute("data-watch-url"), { method: "POST", body: data, credentials: "same-origin", keepalive: true })
        .then(function (r) { video.setAttribute("data-watch-status", r.ok ? "sent" : "error"); })
        .catch(function () { video.setAttribute("data-watch-status", "error"); });
    }
    video.addEventListener("pause", report);
    video.addEventListener("ended", report);
  });
})();
