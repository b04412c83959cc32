"""Accounts, passwords, browser sessions, CSRF tokens and the sign-in limits of the review workbench.

Passwords are hashed with scrypt (memory-hard; Python's standard ``hashlib.scrypt``, RFC 7914) with a
random salt per password. A browser session is a random token in an HttpOnly, SameSite=Strict cookie;
the database keeps only its SHA-256, so a copy of the database does not sign anybody in.

Every sign-in does the same work whether the name exists or not: one scrypt (against a fixed stand-in
hash for an unknown or disabled name), so the time of the answer does not tell which names exist.

Wrong passwords are slowed by :class:`LoginLimiter` without ever locking the owner of a name out:

- **per address** (the client's address as the socket gives it; uvicorn's ``X-Forwarded-For`` is believed
  only from a proxy named with ``--trust-proxy``): at most ``attempts`` (5) failed sign-ins in ``window``
  (10 minutes), whatever the names; then that address waits. Attempts in flight count, so 30 sent at once
  get 5 evaluated.
- **per name**: failures from one address are that address's problem, not the name's, so one attacker
  cannot lock anybody out (the owner, from any other address, signs in). Failures for one name from
  ``attempts`` different addresses are an attack on the name: then only a *known browser* may try it
  (below), the others wait until the window passes. At most attempts x attempts (25) wrong passwords per
  name are evaluated in a window, however many addresses an attacker has.
- **known browsers**: a successful sign-in leaves a long-lived cookie (``sibkit_device``: an HMAC of the
  name keyed by the account's password hash, so it cannot be made without the password and ends when the
  password changes). A browser carrying it for the name it signs in as has a budget of its own (5 failures
  in the window) instead of the address's and the name's, so the owner's own browser always gets in.
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
#: checked for a name that has no (enabled) account, so that it costs one scrypt like a real one
STAND_IN_HASH = "scrypt$16384$8$1$jaUubQUz+6lwp98A/3/7qA==$sH5TSYvF/cWCXwdBkU/jGnB1wIFuUTkRh4mWY3ReFOc="
SESSION_HOURS = 12
DEVICE_DAYS = 180
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


_USER = select(User.id, User.password_hash, User.disabled).where(User.name == bindparam("name"))


def _account(store: Store, name: str) -> tuple[int, str] | None:
    """(id, password hash) of the enabled account with this name, else None."""
    if not name or len(name) > 80 or not set(name) <= NAME_CHARACTERS:  # never a name: no query needed
        return None
    with store.session() as session:
        row = session.connection().execute(_USER, {"name": name}).first()
    return (row.id, row.password_hash) if row is not None and not row.disabled else None


def sign_in(store: Store, name: str, password: str) -> str | None:
    """A new session token for a right name and password of an enabled account, else None.

    One scrypt whatever the name (a stand-in hash for a name without an account); the password is checked
    outside any transaction, and only a right one writes (the new session)."""
    account = _account(store, name)
    right = verify_password(password, account[1] if account is not None else STAND_IN_HASH)
    if account is None or not right:
        return None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with store.session(write=True) as session:
        session.execute(delete(WebSession).where(WebSession.expires_at < now))  # housekeeping
        session.add(WebSession(token_hash=_token_hash(token), user_id=account[0], csrf=secrets.token_urlsafe(32),
                               created_at=now, expires_at=now + dt.timedelta(hours=SESSION_HOURS)))
    return token


def device_token(store: Store, name: str) -> str | None:
    """The known-browser cookie value for an account (``name:hmac``), None without an enabled account."""
    account = _account(store, name)
    if account is None:
        return None
    digest = hmac.new(account[1].encode(), b"sibkit device\x00" + name.encode(), hashlib.sha256).hexdigest()
    return f"{name}:{digest}"


def known_browser(store: Store, name: str, cookie: str | None) -> bool:
    """Whether ``cookie`` (``sibkit_device``) shows that this browser has signed in as ``name`` before."""
    if not cookie or not cookie.startswith(name + ":"):
        return False
    expected = device_token(store, name)
    return expected is not None and hmac.compare_digest(expected, cookie)


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


@dataclass
class Attempt:
    """A sign-in being evaluated: the budgets it holds a place in until :meth:`LoginLimiter.finish`."""

    address: str
    name: str
    device: str | None  # the known-browser cookie for ``name``, when the browser has one


class LoginLimiter:
    """The sign-in limits (see the module's docstring): per address, per name across addresses, per known
    browser. :meth:`begin` reserves a place atomically (attempts in flight count as failures until they
    end), so concurrent guesses cannot slip past a check made before any of them failed."""

    def __init__(self, attempts: int = 5, window: float = 600.0) -> None:
        self.attempts, self.window = attempts, window
        self.failures: dict[tuple[str, str], deque[float]] = {}  # (kind, key) -> times of failed sign-ins
        self.name_addresses: dict[str, dict[str, float]] = {}  # name -> address -> its latest failure
        self.in_flight: dict[tuple[str, str], int] = {}
        self.name_in_flight: dict[str, dict[str, int]] = {}
        self.lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self.failures.setdefault(key, deque())
        while times and times[0] < now - self.window:
            times.popleft()
        return times

    def _addresses(self, name: str, now: float) -> dict[str, float]:
        seen = self.name_addresses.setdefault(name, {})
        for address in [a for a, at in seen.items() if at < now - self.window]:
            del seen[address]
        return seen

    def _wait(self, times: deque[float], now: float) -> int:
        return int(times[0] + self.window - now) + 1 if times else int(self.window)

    def begin(self, address: str, name: str, device: str | None = None) -> Attempt | tuple[int, str]:
        """A place for one sign-in, or (seconds to wait, why) when a budget is spent."""
        now = time.monotonic()
        with self.lock:
            if device is not None:  # a known browser: its own budget only
                key = ("device", device)
                times = self._recent(key, now)
                if len(times) + self.in_flight.get(key, 0) >= self.attempts:
                    return self._wait(times, now), "browser"
                self.in_flight[key] = self.in_flight.get(key, 0) + 1
                return Attempt(address, name, device)
            key = ("address", address)
            times = self._recent(key, now)
            if len(times) + self.in_flight.get(key, 0) >= self.attempts:
                return self._wait(times, now), "address"
            failing = self._addresses(name, now)
            trying = self.name_in_flight.setdefault(name, {})
            others = set(failing) | {a for a, n in trying.items() if n}
            if address not in others and len(others) >= self.attempts:
                soonest = min(failing.values(), default=now)
                return int(soonest + self.window - now) + 1, "name"
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            trying[address] = trying.get(address, 0) + 1
            return Attempt(address, name, None)

    def finish(self, attempt: Attempt, succeeded: bool) -> None:
        """End a sign-in begun with :meth:`begin`; a failure is counted against its budgets."""
        now = time.monotonic()
        with self.lock:
            key = ("device", attempt.device) if attempt.device is not None else ("address", attempt.address)
            self.in_flight[key] = max(0, self.in_flight.get(key, 0) - 1)
            if attempt.device is None:
                trying = self.name_in_flight.setdefault(attempt.name, {})
                trying[attempt.address] = max(0, trying.get(attempt.address, 0) - 1)
                if not trying[attempt.address]:
                    del trying[attempt.address]
                if not trying:
                    del self.name_in_flight[attempt.name]
            if not succeeded:
                self._recent(key, now).append(now)
                if attempt.device is None:
                    self._addresses(attempt.name, now)[attempt.address] = now
            if len(self.failures) + len(self.name_addresses) > 10_000:  # forget keys with no recent failure
                for old in [k for k in self.failures if not self._recent(k, now)]:
                    del self.failures[old]
                for name in [n for n in self.name_addresses if not self._addresses(n, now)]:
                    del self.name_addresses[name]
