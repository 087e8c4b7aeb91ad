// Time zones: tell the server which zone this browser is in, so times read as local time.
// Every page sets the `tz` cookie (visitors too: pages before sign-in show local time). For a
// signed-in person whose profile has no zone yet, the page carries [data-timezone-save] and the
// zone is posted once to be kept there (a zone already chosen is never replaced). Without
// JavaScript nothing is sent and times stay in UTC, saying so.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone || !/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) return;

  if (document.cookie.split("; ").indexOf("tz=" + zone) < 0) {
    var secure = location.protocol === "https:" ? "; secure" : "";
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax" + secure;
  }

  function save() {
    var el = document.querySelector("[data-timezone-save]");
    if (!el || el.dataset.sent) return;
    el.dataset.sent = "1";
    fetch(el.dataset.timezoneSave, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": el.dataset.csrf },
      body: new URLSearchParams({ timezone: zone })
    }).catch(function () { el.dataset.sent = ""; });
  }

  save();
  // A boosted navigation swaps the <body>: the page it brings may be the first one signed in.
  document.addEventListener("htmx:afterSettle", save);
})();
