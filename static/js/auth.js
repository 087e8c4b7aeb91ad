// Signup: clicking a suggested username fills the field and re-checks it.
// Without JavaScript the suggestion is a link that reloads the signup page with it.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var chip = event.target.closest("[data-fill-username]");
    if (!chip) return;
    var input = document.getElementById("username");
    if (!input) return;
    event.preventDefault();
    event.stopPropagation();
    input.value = chip.dataset.fillUsername;
    input.focus();
    input.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
  }, true);
})();
