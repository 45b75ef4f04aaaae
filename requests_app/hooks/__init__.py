"""
Webhooks (issue 17): other tools (a chat, an automation) told of events as
signed JSON, never a request's words.

- `events`: what happened, written as `WebhookDelivery` rows in the
  transaction of the change (a request submitted, an urgent one, one
  manifested; and, from the outbox worker's scan, one waiting too long for
  assignment);
- `delivery`: the outbox worker sends them, with the outbox's retry and
  back-off, and records each hook's failures for the leaders;
- `signing`: the signature (HMAC-SHA256 over the timestamp and the body);
- `targets`: which addresses a hook may post to.
"""
