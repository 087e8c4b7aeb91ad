"""What a customer does in billing, the API the billing pages call: the cart, checkout, their subscriptions
(trials, auto-renew, cancel, resume) and the card for renewals.

Typed arguments in, domain results out; they raise app.errors (ValidationError, Conflict, NotFound,
PaymentDeclined …), write the audit event and commit. The modules beside this package are the billing
engine these services share with admin, the CLI and jobs: pricing, invoices, orders, settlement, renewals,
the subscription lifecycle and reconciliation.
"""
