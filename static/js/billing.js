// Billing pages: the Pay button shows it is working; invoices can be printed.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-checkout]");
    if (!form) return;
    var button = form.querySelector("[data-pay]");
    // Not disabled: the server's idempotency key makes a second submit harmless.
    if (button) button.setAttribute("aria-busy", "true");
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-print]").forEach(function (el) { el.hidden = false; });
  });
})();
