"""Billing's service API, what every adapter calls: what a customer does (the cart, checkout, their
subscriptions — trials, auto-renew, cancel, resume — and the card for renewals), what staff do
(adjustments: mark paid, void, refund; staff_actions: cancel, extend a trial) and what the scheduled
jobs run (lifecycle, reconcile, refunds).

Typed arguments in, domain results out; they raise app.errors (ValidationError, Conflict, NotFound,
PaymentDeclined …), write the audit event and commit. The modules beside this package are the engine
these services share: pricing, invoices, orders, settlement, renewals, numbering, periods and notices.
"""
