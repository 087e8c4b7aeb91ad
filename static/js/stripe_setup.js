// Cards through Stripe.js (window.Stripe, loaded in <head> when Stripe is the gateway): the card is typed
// into Stripe's element and never reaches our server.
//
// A form marked data-stripe-setup="<SetupIntent client secret>" (with data-stripe-key, the publishable key)
// gets Stripe's card element mounted in its [data-stripe-card]. On submit the browser confirms the
// SetupIntent with Stripe (confirmCardSetup, which runs 3-D Secure when the bank asks), puts the
// SetupIntent's id in the form's hidden `setup_intent` field and submits the form (HTMX boosts it like any
// form): only that id is posted. Stripe's error is shown in the form's [data-stripe-status].
//
// A form marked data-stripe-payment="<PaymentIntent client secret>" asks the customer to confirm the
// payment with their bank (confirmCardPayment) as soon as it appears, then submits itself; the server reads
// the outcome from Stripe. Both re-bind after boosted navigation (htmx:load).
(function () {
  "use strict";

  var cards = new WeakMap();

  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll(selector) : []);
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }

  function say(form, text) {
    var status = form.querySelector("[data-stripe-status]");
    if (status) status.textContent = text;
  }

  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (button) {
      button.disabled = on;
      if (on) button.setAttribute("aria-busy", "true");
      else button.removeAttribute("aria-busy");
    });
  }

  function stripeFor(form) {
    if (typeof window.Stripe !== "function") {
      say(form, "The card form couldn't load. Reload the page to try again.");
      return null;
    }
    return window.Stripe(form.dataset.stripeKey);
  }

  function mount(form) {
    if (cards.has(form)) return;
    var stripe = stripeFor(form);
    if (!stripe) return;
    var card = stripe.elements().create("card");
    card.mount(form.querySelector("[data-stripe-card]"));
    cards.set(form, { stripe: stripe, card: card, confirmed: false });
  }

  function submitAgain(form) {
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  // Capture on the document: this runs before HTMX's boost sees the submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-stripe-setup]")) return;
    var state = cards.get(form);
    if (state && state.confirmed) return; // the SetupIntent's id is in: let the form go
    event.preventDefault();
    event.stopPropagation();
    if (!state) return;
    busy(form, true);
    say(form, "Checking your card with your bank…");
    state.stripe
      .confirmCardSetup(form.dataset.stripeSetup, { payment_method: { card: state.card } })
      .then(function (answer) {
        if (answer.error || !answer.setupIntent) {
          busy(form, false);
          say(form, (answer.error && answer.error.message) || "Your card couldn't be confirmed. Try again.");
          return;
        }
        form.querySelector('input[name="setup_intent"]').value = answer.setupIntent.id;
        state.confirmed = true;
        say(form, "");
        busy(form, false);
        submitAgain(form);
      });
  }, true);

  function confirmPayment(form) {
    if (form.dataset.stripeStarted) return;
    form.dataset.stripeStarted = "1";
    var stripe = stripeFor(form);
    if (!stripe) return;
    busy(form, true);
    stripe.confirmCardPayment(form.dataset.stripePayment).then(function () {
      busy(form, false);
      submitAgain(form); // the server asks Stripe how it ended
    });
  }

  function bind(root) {
    within(root, "form[data-stripe-setup]").forEach(mount);
    within(root, "form[data-stripe-payment]").forEach(confirmPayment);
  }

  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  document.addEventListener("htmx:load", function (event) { bind(event.detail.elt); });
})();
