"""Reports and the closed loop: the statuses and steps (loop), intake, routing, the
step handlers, deadlines swept, idempotency, photos, the live feed and Open311."""
