// Stripe's card element, for any form holding a [data-stripe-card] block (checkout; the account's
// "Payment method" page can use the same block).
//
// Mounts stripe.elements().create("card") in [data-card-element]. On submit (when the card is the
// chosen payment method) it asks our server for a SetupIntent (POST data-setup-url, answered with its
// client_secret), confirms the card with confirmCardSetup (Stripe handles 3-D Secure there), puts
// the SetupIntent id in the hidden `setup_intent` field and sends the form. The card number never
// reaches our server. Stripe's error is shown in [data-card-error] (aria-live; focus moves to it)
// and nothing is posted. When the page carries data-action-secret (the bank wants this payment
// confirmed), it calls confirmCardPayment with it, then sends the same form again (same
// idempotency key): the server settles the payment from Stripe's answer. Binds on page load and
// after boosted navigation (htmx:load). The form itself must not be boosted (hx-boost="false"):
// htmx would post it before the card is confirmed.
(function () {
  "use strict";

  var FAILED = "We couldn't confirm your card. Check it and try again.";

  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll(selector) : []);
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }

  function csrfToken(form) {
    var field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function showError(block, message) {
    var region = block.querySelector("[data-card-error]");
    var element = block.querySelector("[data-card-element]");
    region.textContent = "";
    var p = document.createElement("p");
    p.className = "field-error";
    p.id = "card-error";
    p.tabIndex = -1;
    p.textContent = message || FAILED;
    region.appendChild(p);
    if (element) element.setAttribute("aria-describedby", "card-error");
    p.focus();
  }

  function idle(form) {
    var button = form.querySelector("[data-busy]");
    if (button) button.removeAttribute("aria-busy");
    delete form.dataset.cardBusy;
  }

  function paysByCard(form) {
    var chosen = form.querySelector('input[name="payment_method"]:checked');
    return !chosen || chosen.value === "card";
  }

  function setupSecret(form, block) {
    return fetch(block.dataset.setupUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(form), "Accept": "application/json" },
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok || !body.client_secret) throw { message: body.error || FAILED };
        return body.client_secret;
      });
    });
  }

  function mount(block) {
    if (block.dataset.mounted) return;
    var form = block.closest("form");
    if (!form) return;
    if (typeof window.Stripe !== "function") {
      showError(block, "The card form didn't load. Reload the page, or pay by bank transfer.");
      return;
    }
    block.dataset.mounted = "true";
    var stripe = window.Stripe(block.dataset.publishableKey);
    var card = stripe.elements().create("card");
    card.mount(block.querySelector("[data-card-element]"));
    var holder = block.querySelector("[data-card-holder]");
    var setupIntent = block.querySelector('input[name="setup_intent"]');

    form.addEventListener("submit", function (event) {
      if (!paysByCard(form) || setupIntent.value) return;
      event.preventDefault();
      if (form.dataset.cardBusy) return;
      form.dataset.cardBusy = "true";
      setupSecret(form, block)
        .then(function (secret) {
          return stripe.confirmCardSetup(secret, {
            payment_method: { card: card, billing_details: { name: holder ? holder.value.trim() : "" } },
          });
        })
        .then(function (result) {
          if (result.error || !result.setupIntent) {
            idle(form);
            showError(block, result.error && result.error.message);
            return;
          }
          setupIntent.value = result.setupIntent.id;
          form.submit();
        })
        .catch(function (error) {
          idle(form);
          showError(block, error && error.message);
        });
    });

    if (block.dataset.actionSecret) {
      // Whatever the customer answers, the server learns the outcome from Stripe when the form comes back.
      stripe.confirmCardPayment(block.dataset.actionSecret).then(function () { form.submit(); });
    }
  }

  function init(root) { within(root, "[data-stripe-card]").forEach(mount); }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
})();
