// Small progressive enhancements. Everything works without this file.
(function () {
  "use strict";

  // Lets CSS hide what only matters without JavaScript (e.g. "Apply filters").
  document.documentElement.classList.add("js");

  function dismiss(toast) {
    toast.classList.add("toast-leaving");
    setTimeout(function () { toast.remove(); }, 200);
  }

  // Toasts leave by themselves after a while, except errors (they stay until dismissed); the
  // clock stops while the pointer is over a toast or focus is in it, and Esc dismisses the newest.
  function arm(root) {
    (root || document).querySelectorAll("[data-autodismiss]").forEach(function (el) {
      if (el.dataset.armed) return;
      el.dataset.armed = "1";
      if (el.classList.contains("toast-error")) return;
      var left = parseInt(el.dataset.autodismiss, 10) || 6000;
      var timer = null, started = 0;
      function run() { started = Date.now(); timer = setTimeout(function () { dismiss(el); }, left); }
      function pause() {
        if (timer === null) return;
        clearTimeout(timer); timer = null; left = Math.max(1500, left - (Date.now() - started));
      }
      function resume() { if (timer === null && !el.matches(":hover, :focus-within")) run(); }
      el.addEventListener("mouseenter", pause);
      el.addEventListener("focusin", pause);
      el.addEventListener("mouseleave", resume);
      el.addEventListener("focusout", function () { setTimeout(resume, 0); });
      run();
    });
  }

  // A disclosure menu (<details data-menu>): Esc closes it and gives focus back to its summary, the
  // arrow keys (and Home/End) move between its links and buttons, a click elsewhere closes it.
  document.addEventListener("keydown", function (event) {
    var menu = event.target.closest && event.target.closest("details[data-menu][open]");
    if (!menu) return;
    if (event.key === "Escape") {
      menu.open = false;
      menu.querySelector("summary").focus();
      event.stopPropagation();
      return;
    }
    var keys = ["ArrowDown", "ArrowUp", "Home", "End"];
    if (keys.indexOf(event.key) < 0) return;
    var items = Array.prototype.slice.call(menu.querySelectorAll(".menu-panel a, .menu-panel button"));
    var at = items.indexOf(document.activeElement);
    var next = { ArrowDown: at + 1, ArrowUp: at < 0 ? items.length - 1 : at - 1, Home: 0, End: items.length - 1 }[event.key];
    event.preventDefault();
    items[(next + items.length) % items.length].focus();
  }, true);
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var toasts = document.querySelectorAll(".toasts .toast:not(.toast-leaving)");
    if (toasts.length) dismiss(toasts[toasts.length - 1]);
  });

  // After an HTMX swap focus never falls to <body>: it goes to the first field in error, or, after a
  // navigation (or when the focused element was swapped away), to the new content's heading.
  function focusAfterSwap(event) {
    var target = event.detail.target;
    // An outerHTML swap leaves the old element detached: look at its replacement (same id) instead.
    if (target && target.id && !document.contains(target)) target = document.getElementById(target.id) || target;
    if (!target || !target.closest || !(event.detail.boosted || target.closest("main"))) return;
    var invalid = target.querySelector('[aria-invalid="true"]');
    if (invalid && document.activeElement !== invalid) { invalid.focus(); return; }
    if (invalid) return;
    var active = document.activeElement;
    if (!event.detail.boosted && active && active !== document.body && document.contains(active)) return;
    var heading = (event.detail.boosted ? document.querySelector("main h1") : target.querySelector("h1, h2, h3")) ||
      (event.detail.boosted ? document.querySelector("main") : target);
    if (!heading) return;
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: !event.detail.boosted });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (button) dismiss(button.closest(".toast, .alert"));
    // Confirm destructive actions (buttons or forms marked data-confirm).
    var confirmer = event.target.closest("[data-confirm]");
    if (confirmer && !window.confirm(confirmer.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Controls that only work with JavaScript (print) start hidden and appear once it runs.
  function reveal(root) {
    (root || document).querySelectorAll("[data-print][hidden]").forEach(function (el) { el.hidden = false; });
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });

  // A submit button marked data-busy shows a spinner; it stays enabled (the server dedupes a resubmit).
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("[data-busy]");
    if (button) button.setAttribute("aria-busy", "true");
  });

  // A table wider than the screen scrolls inside its own frame: that frame becomes a named,
  // focusable region (keyboard users can scroll it) and shows a cue that there is more.
  function scrollables(root) {
    (root || document).querySelectorAll(".table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      wrap.classList.toggle("scrolls", scrolls);
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        var table = wrap.querySelector("table");
        var caption = table && (table.getAttribute("aria-label") || (table.caption && table.caption.textContent));
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", (caption || "Table").trim() + " (scrolls sideways)");
      }
    });
  }
  window.addEventListener("resize", function () { scrollables(document); });

  // The one focus rule for a form that came back with errors, on a page load as after a swap
  // (focusAfterSwap): focus goes to the first field in error; the error summary above it
  // (components/_fields.html form_errors) links to every field in error.
  function focusFirstInvalid() {
    var invalid = document.querySelector('main [aria-invalid="true"]');
    if (invalid && document.activeElement === document.body) invalid.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    arm(document); reveal(document); scrollables(document); focusFirstInvalid();
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    arm(event.target.ownerDocument);
    reveal(event.target.ownerDocument);
    scrollables(event.target.ownerDocument);
    focusAfterSwap(event);
  });
  document.addEventListener("htmx:oobAfterSwap", function () { arm(document); });

  // GET forms marked data-drop-empty leave empty fields out of the URL, so pushed URLs stay short.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (event.detail.verb !== "get" || !elt.closest || !elt.closest("[data-drop-empty]")) return;
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (key) {
      if (params[key] === "") delete params[key];
    });
  });

  // One navigation at a time: a boosted link or form (or a request that pushes its URL) aborts the
  // navigation still in flight, so the page you land on is the one you chose last, not the one
  // whose answer came last.
  var navigation = null;
  function navigates(detail) {
    var elt = detail.elt;
    return detail.boosted || (elt && elt.getAttribute && elt.getAttribute("hx-push-url") === "true");
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!navigates(event.detail)) return;
    if (navigation && navigation !== event.detail.xhr) navigation.abort();
    navigation = event.detail.xhr;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.xhr === navigation) navigation = null;
  });

  // A check marked data-checking (the signup's username) says so in its polite status region while the
  // request is in flight ("Checking…", announced); the answer then replaces it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var text = elt && elt.getAttribute && elt.getAttribute("data-checking");
    var target = event.detail.target;
    if (!text || !target) return;
    var status = document.createElement("p");
    status.className = "username-status is-checking";
    status.innerHTML = '<span class="spinner" aria-hidden="true"></span> ';
    status.appendChild(document.createTextNode(text));
    target.replaceChildren(status);
  });

  // A dropped connection gets a toast instead of silence.
  document.addEventListener("htmx:sendError", function () {
    var area = document.getElementById("toasts");
    if (!area) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-error";
    toast.setAttribute("role", "alert");
    toast.dataset.autodismiss = "6000";
    toast.textContent = "We couldn't reach the server. Check your connection and try again.";
    area.appendChild(toast);
    arm(area);
  });
})();
