"""Accounts, passwords, browser sessions, CSRF tokens and the login rate limit of the review workbench.

Passwords are hashed with scrypt (memory-hard; Python's standard ``hashlib.scrypt``, RFC 7914) with a
random salt per password. A browser session is a random token in an HttpOnly, SameSite=Strict cookie;
the database keeps only its SHA-256, so a copy of the database does not sign anybody in.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from sibkit.errors import SibkitError
from sibkit.store import Store, User, WebSession
from sibkit.store.models import ROLES, utcnow

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB of memory per hash
SESSION_HOURS = 12
MIN_PASSWORD = 10
NAME_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) for a password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    encode = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                               dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, base64.b64decode(digest))


@dataclass(frozen=True)
class Actor:
    """Who is making a request: a coder name and a role; ``csrf`` is the token their forms carry."""

    name: str
    role: str
    csrf: str
    single_user: bool = False

    @property
    def can_decide(self) -> bool:
        return self.role in ("admin", "coder")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


# ---------------------------------------------------------------------------------------------
# accounts (``sibkit users``)


def add_user(store: Store, name: str, password: str, role: str = "coder") -> None:
    if not name or not set(name) <= NAME_CHARACTERS or len(name) > 80:
        raise SibkitError(f"user name {name!r}: use 1-80 letters, digits and . _ - @")
    if role not in ROLES:
        raise SibkitError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise SibkitError(f"the password needs at least {MIN_PASSWORD} characters")
    with store.session(write=True) as session:
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise SibkitError(f"user {name!r} exists already")
        session.add(User(name=name, role=role, password_hash=hash_password(password), disabled=False))


def disable_user(store: Store, name: str) -> None:
    """Disable an account and end its sessions (accounts are never deleted: decisions name them)."""
    with store.session(write=True) as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise SibkitError(f"no user {name!r}")
        user.disabled = True
        for web_session in session.scalars(select(WebSession).where(WebSession.user_id == user.id)):
            session.delete(web_session)


def list_users(store: Store) -> pd.DataFrame:
    with store.session() as session:
        rows = session.execute(select(User.name, User.role, User.disabled, User.created_at).order_by(User.name)).all()
    return pd.DataFrame(rows, columns=["name", "role", "disabled", "created_at"])


_ACCOUNTS = select(User.id).where(User.disabled.is_(False)).limit(1)


def has_accounts(store: Store) -> bool:
    """Whether team mode is on: at least one account that is not disabled."""
    with store.session() as session:
        return accounts_in(session)


def accounts_in(session: Session) -> bool:
    """:func:`has_accounts` within a transaction."""
    return session.connection().execute(_ACCOUNTS).first() is not None


# ---------------------------------------------------------------------------------------------
# sessions


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(store: Store, name: str, password: str) -> str | None:
    """A new session token for a right name and password of an enabled account, else None."""
    with store.session(write=True) as session:
        user = session.scalar(select(User).where(User.name == name))
        stored = user.password_hash if user is not None else hash_password("not a user: spend the same time")
        if not verify_password(password, stored) or user is None or user.disabled:
            return None
        token = secrets.token_urlsafe(32)
        now = utcnow()
        session.execute(delete(WebSession).where(WebSession.expires_at < now))  # housekeeping
        session.add(WebSession(token_hash=_token_hash(token), user_id=user.id, csrf=secrets.token_urlsafe(32),
                               created_at=now, expires_at=now + dt.timedelta(hours=SESSION_HOURS)))
        return token


_ACTOR = (select(User.name, User.role, User.disabled, WebSession.csrf, WebSession.expires_at)
          .join(WebSession, WebSession.user_id == User.id).where(WebSession.token_hash == bindparam("token_hash")))


def actor_of(store: Store, token: str | None) -> Actor | None:
    if not token:
        return None
    with store.session() as session:
        return actor_in(session, token)


def actor_in(session: Session, token: str | None) -> Actor | None:
    """:func:`actor_of` within a transaction."""
    if not token:
        return None
    row = session.connection().execute(_ACTOR, {"token_hash": _token_hash(token)}).first()
    if row is None or row.disabled or row.expires_at < utcnow():
        return None
    return Actor(row.name, row.role, row.csrf)


def sign_out(store: Store, token: str | None) -> None:
    if token:
        with store.session(write=True) as session:
            web_session = session.get(WebSession, _token_hash(token))
            if web_session is not None:
                session.delete(web_session)


class LoginLimiter:
    """At most ``attempts`` failed logins per client address and per user name in ``window`` seconds."""

    def __init__(self, attempts: int = 5, window: float = 600.0) -> None:
        self.attempts, self.window = attempts, window
        self.failures: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self.failures.setdefault(key, deque())
        while times and times[0] < now - self.window:
            times.popleft()
        return times

    def wait_seconds(self, *keys: str) -> int:
        """0 when a login may be tried now, else the seconds until it may."""
        now = time.monotonic()
        with self.lock:
            waits = [int(times[0] + self.window - now) + 1 for key in keys
                     if len(times := self._recent(key, now)) >= self.attempts]
        return max(waits, default=0)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self.lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self.failures) > 10_000:  # forget addresses and names with no recent failure
                for key in [k for k in self.failures if not self._recent(k, now)]:
                    del self.failures[key]
