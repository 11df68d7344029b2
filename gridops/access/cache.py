"""Who a token names, remembered per process until the users stamp moves."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gridops.access import sessions
from gridops.access.policy import Principal
from gridops.access.tokens import hash_token
from gridops.access.users import principal_for_hash
from gridops.core.stamps import USERS_STAMP, read_stamp


@dataclass(frozen=True)
class Credential:
    """What a long-lived answer (the live feed) keeps of how its caller signed in, to ask again later:
    a page session's id, or an API token's hash. Never the token itself."""

    sid: str | None = None
    token_hash: str | None = None


class Principals:
    """Who a token names, remembered per process until a user, token or user area changes
    (the users stamp): one small query per request instead of a user lookup.

    Report intake goes one step further (`remembered`): a remembered token is
    taken on trust by the request, and the intake writer checks it against the
    users stamp inside the very transaction that stores the report — exact, and
    one query per batch instead of one per request.
    """

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._stamp: int | None = None
        self._known: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def principal(self, session: Session, token: str) -> Principal | None:
        return self.by_hash(session, hash_token(token), read_stamp(session, USERS_STAMP))

    def by_hash(self, session: Session, key: str, stamp: int) -> Principal | None:
        """The principal for a token hash as of users stamp `stamp` (read in this session)."""
        with self._lock:
            if stamp != self._stamp:
                self._known.clear()
                self._stamp = stamp
            found = self._known.get(key)
        if found is not None:
            return found
        found = principal_for_hash(session, key)  # unknown tokens are not remembered: the cache holds real users only
        if found is not None:
            with self._lock:
                if self._stamp == stamp:
                    if len(self._known) >= self.MAX_ENTRIES:
                        self._known.clear()
                    self._known[key] = found
        return found

    def remembered(self, token: str) -> tuple[Principal, int] | None:
        """The principal this process last knew for a token, with the users stamp it was valid under."""
        key = hash_token(token)
        with self._lock:
            found = self._known.get(key)
            if found is None:
                return None
            assert self._stamp is not None  # by_hash sets the stamp before it remembers anyone
            return found, self._stamp

    def confirm(self, session: Session, token_hashes: set[str], stamp: int | None = None) -> dict[str, Principal | None]:
        """Each token's principal as this transaction sees it (for checking remembered ones)."""
        stamp = read_stamp(session, USERS_STAMP) if stamp is None else stamp
        return {key: self.by_hash(session, key, stamp) for key in token_hashes}

    def recheck(self, session: Session, credentials: Sequence[Credential]) -> list[Principal | None]:
        """Who each credential names now (None once revoked, deactivated or signed out): one stamp read
        and one query for all the page sessions, however many streams are open."""
        stamp = read_stamp(session, USERS_STAMP)
        live = sessions.token_hashes_of(session, {c.sid for c in credentials if c.sid})
        out: list[Principal | None] = []
        for c in credentials:
            key = live.get(c.sid) if c.sid else c.token_hash
            out.append(self.by_hash(session, key, stamp) if key else None)
        return out
