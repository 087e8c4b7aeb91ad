// Passkeys (WebAuthn), through the vendored @simplewebauthn/browser (window.SimpleWebAuthnBrowser).
//
// A form marked data-passkey-form ("login" or "register") gets its options from data-options-url,
// lets the browser's authenticator answer, puts the answer (JSON) in its hidden `credential` field
// and submits itself (HTMX boosts it like any form); the server verifies it. A click on
// [data-passkey-start] starts that; on the login page the identifier field marked
// data-passkey-autofill also offers the site's passkeys in the browser's autofill (conditional
// mediation), where the browser supports it. Without JavaScript, or without WebAuthn, everything
// marked data-passkey-show stays hidden (and what is marked data-passkey-hide, saying so, stays
// shown). Re-binds after boosted navigation (htmx:load).
(function () {
  "use strict";

  var REDIRECTED = "passkey-redirected";

  function lib() { return window.SimpleWebAuthnBrowser; }
  function supported() { return Boolean(lib() && lib().browserSupportsWebAuthn()); }

  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll(selector) : []);
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }

  function say(form, text) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) status.textContent = text;
  }

  function options(form) {
    var token = form.querySelector('input[name="csrf_token"]');
    return fetch(form.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "", "Accept": "application/json" },
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (response.redirected && !json) {
        // Asked to confirm it's you first (step-up): go there; it brings you back to this page.
        window.location.assign(response.url);
        throw new Error(REDIRECTED);
      }
      if (response.status === 429) throw new Error("Too many attempts. Wait a minute and try again.");
      if (!response.ok || !json) throw new Error("We couldn't start the passkey request. Reload the page and try again.");
      return response.json();
    });
  }

  function submit(form, answer) {
    form.querySelector('input[name="credential"]').value = JSON.stringify(answer);
    var remember = form.querySelector('input[name="remember"]');
    var box = document.getElementById("remember");
    if (remember) remember.value = box && box.checked ? "y" : "";
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function problem(error) {
    var name = error && error.name;
    if (name === "InvalidStateError") return "This device already has a passkey for your account.";
    if (name === "NotAllowedError" || name === "AbortError") {
      return "The passkey request was cancelled or timed out. Try again when you're ready.";
    }
    if (error && error.message && !name) return error.message;
    if (error && error.message && name === "Error") return error.message;
    return "Your browser couldn't use a passkey just now. Try again, or use another way in.";
  }

  function start(form) {
    var register = form.dataset.passkeyForm === "register";
    say(form, register ? "Follow your browser's prompt to create the passkey…" : "Follow your browser's prompt…");
    options(form)
      .then(function (optionsJSON) {
        return register ? lib().startRegistration({ optionsJSON: optionsJSON })
                        : lib().startAuthentication({ optionsJSON: optionsJSON });
      })
      .then(function (answer) {
        say(form, register ? "Saving the passkey…" : "Signing you in…");
        submit(form, answer);
      })
      .catch(function (error) {
        if (error && error.message === REDIRECTED) return;
        say(form, problem(error));
      });
  }

  // The browser's autofill offers passkeys in the identifier field until one is chosen (or the
  // button starts a request of its own, which cancels this one): nothing to say when it ends so.
  // After a refused passkey the page says why; it doesn't ask again by itself.
  function autofill(root) {
    within(root, "input[data-passkey-autofill]").forEach(function (input) {
      var form = document.querySelector('form[data-passkey-form="login"]');
      if (!form || input.dataset.passkeyArmed || document.getElementById("passkey-error")) return;
      input.dataset.passkeyArmed = "1";
      lib().browserSupportsWebAuthnAutofill()
        .then(function (available) {
          if (!available) return null;
          return options(form).then(function (optionsJSON) {
            return lib().startAuthentication({ optionsJSON: optionsJSON, useBrowserAutofill: true });
          });
        })
        .then(function (answer) { if (answer) submit(form, answer); })
        .catch(function () {});
    });
  }

  function init(root) {
    if (!supported()) return;
    within(root, "[data-passkey-show]").forEach(function (el) { el.hidden = false; });
    within(root, "[data-passkey-hide]").forEach(function (el) { el.hidden = true; });
    autofill(root);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-passkey-start]");
    var form = button && button.closest("form[data-passkey-form]");
    if (!form || !supported()) return;
    event.preventDefault();
    start(form);
  });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
})();
