"""Reports and the closed loop: the statuses and steps (loop), intake, routing, the
step handlers, deadlines swept, idempotency, photos, the live feed, Open311, and the reports a
door's QR label brings in (doors: the door a code names, the resident's form, following a report by its token)."""
