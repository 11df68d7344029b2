"""Messages that arrive: the outbox of notifications, fanned out to each person's channels and delivered by a
dispatcher that retries, backs off and says what became of every copy."""
