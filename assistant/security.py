"""Access control for the whole web app: one layer for the UI, its Gradio API and the JSON API alike.

- Who may enter: users from ``REGQA_AUTH_USERS`` (``name:bcrypt-hash``, made by ``regqa passwd``; plaintext still
  accepted with a warning) and the API token ``REGQA_API_TOKEN`` (admin). A request proves itself with
  ``Authorization: Bearer <token>``, HTTP Basic, or the signed session cookie that the login page sets.
- Every comparison is constant-time on bytes; an unknown user and a wrong password get the same answer and take
  the same time; failed attempts are throttled per client address and per user name (429 with Retry-After).
- Open mode (no users, no token) lets everyone read; uploads and removals are off there unless
  ``REGQA_OPEN_UPLOADS=true``.
- State-changing requests from another site are refused (Origin / Referer must name this host or an allowed
  origin), so a page elsewhere cannot make a visitor's browser upload or delete documents.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict, defaultdict, deque
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

import bcrypt

from common.settings import Settings
from ingest.loaders import http_link as safe_link  # noqa: F401  (one definition of a safe link)

log = logging.getLogger(__name__)

TOKEN_USER = "__token__"
SESSION_COOKIE = "regqa_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
# At most two bcrypt checks at once: a flood of guesses cannot take every worker thread.
_BCRYPT_SLOTS = threading.BoundedSemaphore(2)
# Verifying against this keeps an unknown user as slow as a wrong password.
_DUMMY_HASH = bcrypt.hashpw(b"regqa-no-such-user", bcrypt.gensalt(rounds=12))


def hash_password(password: str, rounds: int = 12) -> str:
    """A bcrypt hash for ``REGQA_AUTH_USERS`` (``regqa passwd`` prints one)."""
    if not password:
        raise ValueError("empty password")
    if len(password.encode("utf-8")) > 72:
        raise ValueError("bcrypt uses at most 72 bytes of a password: choose a shorter one")
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


@dataclass(frozen=True)
class Principal:
    user: str
    admin: bool


@dataclass(frozen=True)
class Credentials:
    """What a request presents, as the web layer read it from the headers: a Bearer token, HTTP Basic's base64
    ``user:password`` (decoded here, as UTF-8), the session cookie."""

    bearer: str | None = None
    basic: str | None = None
    cookie: str | None = None


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-in attempts; try again in {retry_after} s")
        self.retry_after = retry_after


class FailureThrottle:
    """Counts failed attempts per key in a sliding window; a key over its limit is locked for a while."""

    def __init__(self, window_s: float, lockout_s: float) -> None:
        self.window_s, self.lockout_s = window_s, lockout_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, keys: list[tuple[str, int]]) -> None:
        """Raise ``Throttled`` when any of the keys is locked."""
        now = time.monotonic()
        with self._lock:
            waits = [self._locked_until.get(key, 0) - now for key, _ in keys]
        wait = max(waits, default=0)
        if wait > 0:
            raise Throttled(int(wait) + 1)

    def fail(self, keys: list[tuple[str, int]]) -> None:
        now = time.monotonic()
        with self._lock:
            for key, limit in keys:
                times = self._failures[key]
                times.append(now)
                while times and times[0] < now - self.window_s:
                    times.popleft()
                if len(times) >= limit:
                    self._locked_until[key] = now + self.lockout_s
                    times.clear()

    def succeed(self, keys: list[tuple[str, int]]) -> None:
        with self._lock:
            for key, _ in keys:
                self._failures.pop(key, None)


class PasswordBook:
    """User name -> password hash, with a small cache of verified (user, password) pairs (bcrypt is slow on
    purpose; API clients send Basic credentials with every request)."""

    def __init__(self, spec: str) -> None:
        self.hashes: dict[str, str] = {}
        for pair in spec.split(","):
            user, sep, secret = pair.partition(":")
            if sep and user.strip():
                if not secret.strip():
                    log.warning("REGQA_AUTH_USERS: user %r has an empty password and is ignored", user.strip())
                    continue
                self.hashes[user.strip()] = secret.strip() if secret.strip().startswith(_BCRYPT_PREFIXES) else secret
        self.plaintext_users = sorted(u for u, h in self.hashes.items() if not h.startswith(_BCRYPT_PREFIXES))
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, user: str, password: str) -> bool:
        stored = self.hashes.get(user)
        key = hashlib.sha256(f"{user}\0{password}\0{stored}".encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            if key in self._verified:
                self._verified.move_to_end(key)
                return True
        candidate = password.encode("utf-8", "surrogatepass")
        with _BCRYPT_SLOTS:  # every path costs one bcrypt, whatever the user or password length (no timing oracle)
            if stored is None:
                bcrypt.checkpw(candidate[:72], _DUMMY_HASH)
                return False
            if stored.startswith(_BCRYPT_PREFIXES):
                ok = bcrypt.checkpw(candidate[:72], stored.encode("ascii")) and len(candidate) <= 72
            else:
                bcrypt.checkpw(candidate[:72], _DUMMY_HASH)  # same cost as a hashed entry
                ok = hmac.compare_digest(candidate, stored.encode("utf-8", "surrogatepass"))
        if ok:
            with self._lock:
                self._verified[key] = None
                while len(self._verified) > 256:
                    self._verified.popitem(last=False)
        return ok


class Sessions:
    """Signed, expiring session cookies: ``user|expiry|session id|credential tag`` + HMAC-SHA256 signature. The
    credential tag is derived from the user's current password hash (or the API token), so a changed password or
    a rotated token ends the sessions made with the old one; logging out revokes the session id."""

    def __init__(self, secret: str, hours: float) -> None:
        self.key = (secret or secrets.token_hex(32)).encode("utf-8")
        self.max_age = int(hours * 3600)
        self._revoked: dict[str, float] = {}  # session id -> its expiry
        self._lock = threading.Lock()

    def issue(self, user: str, credential: str) -> str:
        fields = f"{user}|{int(time.time()) + self.max_age}|{secrets.token_hex(8)}|{self._tag(credential)}"
        payload = base64.urlsafe_b64encode(fields.encode()).decode()
        return f"{payload}.{self._sign(payload)}"

    def _fields(self, cookie: str | None) -> tuple[str, int, str, str] | None:
        if not cookie or "." not in cookie:
            return None
        payload, _, signature = cookie.rpartition(".")
        if not _equal(signature, self._sign(payload)):
            return None
        try:
            user, expiry, session_id, tag = base64.urlsafe_b64decode(payload.encode()).decode().rsplit("|", 3)
            return user, int(expiry), session_id, tag
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None

    def user_of(self, cookie: str | None, credential_of) -> str | None:
        """The user of a valid cookie: signed, not expired, not revoked, made with the user's current credential
        (``credential_of(user)`` -> the stored hash or token, None for a user that no longer exists)."""
        fields = self._fields(cookie)
        if fields is None:
            return None
        user, expiry, session_id, tag = fields
        credential = credential_of(user)
        with self._lock:
            revoked = session_id in self._revoked
        if expiry <= time.time() or revoked or credential is None or not _equal(tag, self._tag(credential)):
            return None
        return user

    def revoke(self, cookie: str | None) -> None:
        fields = self._fields(cookie)
        if fields is None:
            return
        now = time.time()
        with self._lock:
            self._revoked = {sid: exp for sid, exp in self._revoked.items() if exp > now}
            self._revoked[fields[2]] = fields[1]

    def _tag(self, credential: str) -> str:
        return hmac.new(
            self.key, b"credential|" + credential.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()[:16]

    def _sign(self, payload: str) -> str:
        return hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()


class AccessControl:
    """Authentication and authorisation for every surface of the web app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.passwords = PasswordBook(settings.auth_users)
        self.admins = {u.strip() for u in settings.admin_users.split(",") if u.strip()}
        self.sessions = Sessions(settings.session_secret, settings.session_hours)
        self.throttle = FailureThrottle(settings.auth_failure_window_s, settings.auth_lockout_s)
        for user in self.passwords.plaintext_users:
            log.warning("REGQA_AUTH_USERS holds a plaintext password for %r: store a hash (`regqa passwd`)", user)

    @property
    def enabled(self) -> bool:
        return self.settings.auth_enabled

    def principal(self, user: str) -> Principal:
        return Principal(user, user == TOKEN_USER or user in self.admins)

    def may_change_documents(self, principal: Principal | None) -> bool:
        if not self.enabled:
            return self.settings.open_uploads
        return principal is not None and principal.admin

    # --- credentials -----------------------------------------------------------------------------------
    def _keys(self, client: str, user: str | None) -> list[tuple[str, int]]:
        keys = [(f"ip:{client}", self.settings.auth_max_failures_per_client)]
        if user:
            keys.append((f"user:{user}", self.settings.auth_max_failures_per_user))
        return keys

    def login(self, client: str, user: str, password: str) -> Principal | None:
        """Check a user name and password (or the API token as the password). Raises ``Throttled``."""
        keys = self._keys(client, user or None)
        self.throttle.check(keys)
        principal = None
        if self.settings.api_token and _equal(password, self.settings.api_token):
            principal = self.principal(TOKEN_USER)
        elif self.passwords.verify(user, password):
            principal = self.principal(user)
        if principal is None:
            self.throttle.fail(keys)
        else:
            self.throttle.succeed(keys)
        return principal

    def identify(self, client: str, credentials: Credentials) -> Principal | None:
        """The principal a request proves (Bearer token, Basic, session cookie), or None. Raises ``Throttled``.
        A Bearer or Basic credential that fails is a failure: the cookie is not consulted then."""
        if credentials.bearer:
            keys = self._keys(client, None)
            self.throttle.check(keys)
            if self.settings.api_token and _equal(credentials.bearer, self.settings.api_token):
                return self.principal(TOKEN_USER)
            self.throttle.fail(keys)
            return None
        if credentials.basic:
            try:  # UTF-8, as browsers and HTTP clients send it (RFC 7617's charset="UTF-8")
                user, _, password = base64.b64decode(credentials.basic, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return self.login(client, user, password)
        session_user = self.sessions.user_of(credentials.cookie, self.credential_of)
        return self.principal(session_user) if session_user else None

    def credential_of(self, user: str) -> str | None:
        """What a session of ``user`` was made with: the stored password hash, or the API token."""
        if user == TOKEN_USER:
            return self.settings.api_token or None
        return self.passwords.hashes.get(user)

    # --- same-origin check -----------------------------------------------------------------------------
    def cross_site(self, method: str, host: str, origin: str | None, referer: str | None) -> bool:
        """True when a state-changing request names another site as its origin (or ``null``)."""
        if method.upper() not in UNSAFE_METHODS:
            return False
        source = origin if origin is not None else referer
        if source is None:
            return False  # not sent by a browser page (curl, SDKs, Slack's and WeCom's servers)
        if source.strip().lower() == "null":
            return True
        parts = urlsplit(source.strip())
        if not parts.scheme or not parts.netloc:
            return True
        allowed = {o.strip().rstrip("/").lower() for o in self.settings.allowed_origins.split(",") if o.strip()}
        if f"{parts.scheme}://{parts.netloc}".lower() in allowed:
            return False
        return parts.netloc.lower() != host.strip().lower()


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
