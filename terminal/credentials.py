"""Exchange keys in the operating system's keyring, and nowhere else.

``CredentialStore`` keeps one keyring entry per exchange account: service
``"terminal"`` (by default), user name = the account id, and as the secret a
small JSON object ``{"format": 1, "apiKey": ..., "secret": ..., "password": ...}``.
One entry rather than one per field, so that a save or delete is one keyring
operation (never half a key), and an unlock prompt comes once per read.

Rules this module keeps (DESIGN.md, principle 8):

- Keys are read from the keyring when asked and handed to the caller; the
  store keeps no copy between calls.
- Only a real OS keyring is used: the Secret Service (GNOME Keyring, KWallet,
  KeePassXC), KWallet's own interface, the macOS Keychain or the Windows
  Credential Manager. With keyring's "fail" backend, the "null" backend, a
  plaintext or home-made encrypted file backend (keyrings.alt) or any backend
  not on that list, every operation raises ``KeyringUnavailableError`` with
  what to install or unlock. There is no fallback.
- No secret reaches an exception text, a ``repr`` or a log line: ``ApiKey``
  masks itself, errors from the keyring are re-raised ``from None`` with a
  redacted detail, and ``SecretRedactor`` (a logging filter, see
  ``install_redactor``) masks every secret this process has stored or read.

Calls block: each is a D-Bus round trip (or a Keychain call), and a locked
keyring may show an unlock prompt and wait for the user. Call the store from a
worker thread (``asyncio.to_thread``), never from the GUI thread.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import keyring
import keyring.backend
import keyring.errors
import keyring.util.platform_

from terminal.errors import TerminalError
from terminal.redaction import REDACTED, SecretRedactor, install_redactor, redact, remember

__all__ = [
    "ApiKey",
    "CredentialError",
    "CredentialStore",
    "KeyringUnavailableError",
    "SecretRedactor",
    "install_redactor",
    "redact",
]

FORMAT_VERSION = 1

# Backends that keep secrets in the operating system's keyring, by the
# qualified name of the class (or of a base class): names, because importing
# the macOS or Windows module on another system is not free.
_OS_KEYRINGS = {
    "keyring.backends.SecretService.Keyring": "Secret Service",
    "keyring.backends.libsecret.Keyring": "Secret Service (libsecret)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Manager",
}
_FAIL = "keyring.backends.fail.Keyring"
_NULL = "keyring.backends.null.Keyring"
_CHAINER = "keyring.backends.chainer.ChainerBackend"
# Process names of Secret Service providers, as /proc/<pid>/comm shows them.
_PROVIDERS = {
    "gnome-keyring-d": "GNOME Keyring",
    "kwalletd5": "KWallet",
    "kwalletd6": "KWallet",
    "ksecretd": "KWallet",
    "keepassxc": "KeePassXC",
}


class CredentialError(TerminalError):
    """Keys cannot be stored or read, or what was given is not a usable key."""


class KeyringUnavailableError(CredentialError):
    """No usable OS keyring: none installed, locked, unreachable, or not a real OS keyring.

    ``reason`` is one of ``"no-backend"``, ``"not-os-keyring"``, ``"locked"``,
    ``"cannot-open"``, ``"unreachable"``, ``"refused"``; ``backend`` names the
    backend found; ``detail`` is the keyring library's own words, redacted.
    """

    def __init__(self, message: str, *, reason: str, backend: str, detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.backend = backend
        self.detail = detail


@functools.cache
def _secret_storage_errors() -> tuple[type[BaseException], ...]:
    """Errors the Secret Service backend lets through unwrapped (Linux only; imported on first use)."""
    found: list[type[BaseException]] = []
    for module, name in (
        ("secretstorage.exceptions", "SecretStorageException"),
        ("jeepney.wrappers", "DBusErrorResponse"),
    ):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


# What loading a misconfigured backend (PYTHON_KEYRING_BACKEND, keyringrc.cfg) raises.
_CONFIG_ERRORS = (ImportError, AttributeError, RuntimeError, ValueError, TypeError)


def _backend_errors() -> tuple[type[BaseException], ...]:
    """Everything a keyring call can raise for reasons of the keyring, not of ours.

    OSError: the D-Bus socket, or the Keychain or Credential Manager call, failed.
    """
    return (keyring.errors.KeyringError, OSError, *_secret_storage_errors())


# -- the key ---------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class ApiKey:
    """One exchange account's credentials. Prints as ``ApiKey(api_key='abcd…', secret=<hidden>)``."""

    api_key: str
    secret: str
    password: str | None = None  # the "passphrase" some exchanges (OKX, KuCoin, ...) add

    def __post_init__(self) -> None:
        for field, value in (("API key", self.api_key), ("secret", self.secret)):
            if not isinstance(value, str) or not value.strip():
                raise CredentialError(f"The {field} is empty.", hint="Paste it from the exchange's API page.")
        if self.password is not None and not isinstance(self.password, str):
            raise CredentialError("The password (passphrase) must be text.")
        if self.password is not None and not self.password.strip():
            object.__setattr__(self, "password", None)

    def masked_api_key(self) -> str:
        """The first 4 characters of a long enough API key, then an ellipsis; never more."""
        return f"{self.api_key[:4]}…" if len(self.api_key) >= 12 else "…"

    def as_ccxt_config(self) -> dict[str, str]:
        """The fields a ccxt exchange takes (``apiKey``, ``secret``, ``password``)."""
        config = {"apiKey": self.api_key, "secret": self.secret}
        if self.password is not None:
            config["password"] = self.password
        return config

    def __repr__(self) -> str:
        password = ", password=<hidden>" if self.password is not None else ""
        return f"ApiKey(api_key='{self.masked_api_key()}', secret=<hidden>{password})"

    __str__ = __repr__

    def _to_json(self) -> str:
        value: dict[str, Any] = {"format": FORMAT_VERSION, "apiKey": self.api_key, "secret": self.secret}
        if self.password is not None:
            value["password"] = self.password
        return json.dumps(value, separators=(",", ":"))

    @classmethod
    def _from_json(cls, text: str, account: str) -> ApiKey:
        broken = CredentialError(
            f"The keyring entry for account '{account}' is not one the terminal wrote.",
            hint="Remove the account's keys and add them again.",
        )
        try:
            value = json.loads(text)
        except ValueError:
            # JSONDecodeError carries the whole document: raise outside this block,
            # so that it does not ride along as __context__.
            value = None
        if not isinstance(value, dict) or value.get("format") != FORMAT_VERSION:
            raise broken
        api_key, secret, password = value.get("apiKey"), value.get("secret"), value.get("password")
        if not isinstance(api_key, str) or not isinstance(secret, str):
            raise broken
        if password is not None and not isinstance(password, str):
            raise broken
        return cls(api_key, secret, password)


# -- the store -------------------------------------------------------------------------------------


def _class_names(backend: object) -> list[str]:
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(backend).__mro__]


def _os_keyring_kind(backend: object) -> str | None:
    for name in _class_names(backend):
        if name in _OS_KEYRINGS:
            return _OS_KEYRINGS[name]
    return None


def _secret_service_provider() -> str | None:
    """Which program serves the Secret Service on the session bus, if it can be told."""
    try:
        secretstorage = importlib.import_module("secretstorage")
        bus_messages = importlib.import_module("jeepney.bus_messages")
        wrappers = importlib.import_module("jeepney.wrappers")
        errors: tuple[type[BaseException], ...] = (
            *_secret_storage_errors(),
            OSError,
            ValueError,
            LookupError,
            TypeError,
        )
    except ImportError:
        return None
    try:
        with closing(secretstorage.dbus_init()) as connection:
            call = bus_messages.message_bus.GetConnectionUnixProcessID("org.freedesktop.secrets")
            (pid,) = wrappers.unwrap_msg(connection.send_and_get_reply(call, timeout=2))
        command = Path(f"/proc/{int(pid)}/comm").read_text(encoding="utf-8").strip()
    except errors:
        return None
    return _PROVIDERS.get(command, command or None)


def _describe_backend(backend: object) -> str:
    kind = _os_keyring_kind(backend)
    names = _class_names(backend)
    if kind == "Secret Service" and sys.platform.startswith("linux"):
        provider = _secret_service_provider()
        return f"Secret Service ({provider})" if provider else kind
    if kind is not None:
        return kind
    if names[0] == _FAIL:
        return "none (keyring found no usable backend)"
    if names[0] == _NULL:
        return "disabled (keyring's null backend)"
    return names[0]


def _install_hint() -> str:
    if sys.platform == "darwin":
        return "The macOS Keychain should always be there: log in to your user session and try again."
    if sys.platform == "win32":
        return "Windows Credential Manager should always be there: log in to your user account and try again."
    hint = (
        "Install a Secret Service provider, e.g. GNOME Keyring (sudo apt install gnome-keyring) "
        "or KWallet, and start the terminal from a desktop session, which runs it on the D-Bus session bus."
    )
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        hint += " (No D-Bus session bus was found: DBUS_SESSION_BUS_ADDRESS is not set.)"
    return hint


UNLOCK_HINT = (
    "Unlock it and try again: log in to your desktop session, or open your keyring app "
    "(Passwords and Keys/Seahorse, KWallet Manager, Keychain Access) and unlock the default (Login) keyring."
)


def _detail(exc: BaseException, key: ApiKey | None) -> str:
    """The library's own words, without any secret: ours, or ones this process knows."""
    text = f"{type(exc).__name__}: {exc}"
    if key is not None:
        for value in (key.api_key, key.secret, key.password):
            if value:
                text = text.replace(value, REDACTED)
    return redact(text)[:300]  # cut after masking: a cut could leave part of a secret unmasked


#: the keyring service the user's accounts keep their keys under
SERVICE = "terminal"
#: names another service for a whole run (``scripts/demo-loopback`` sets it):
#: a demo's throwaway key then lives where no account of the user's does, and
#: can neither replace nor be mistaken for a real one
SERVICE_ENV = "TERMINAL_KEYRING_SERVICE"


class KeySource(Protocol):
    """Where a broker reads an account's keys when it starts: the OS keyring
    (``CredentialStore``), or anything else that hands out an ``ApiKey``."""

    def load(self, account: str) -> ApiKey | None: ...


def _deleting(service: str, user: str) -> Callable[[keyring.backend.KeyringBackend], bool]:
    """A backend call that removes one entry; False if there was none. It looks first:
    backends differ in what "not there" raises (and the same PasswordDeleteError can
    mean a real failure)."""

    def delete(backend: keyring.backend.KeyringBackend) -> bool:
        if backend.get_password(service, user) is None:
            return False
        backend.delete_password(service, user)
        return True

    return delete


def _remember_secret(text: str) -> None:
    """Mask a secret and each line of it (a PEM key's base64 lines; not its armour)."""
    remember(text, *(line for line in text.splitlines() if line.strip() and not line.startswith("-----")))


class CredentialStore:
    """Exchange accounts' API keys in the OS keyring: one JSON entry per account under ``service``
    (by default ``SERVICE``, or the one ``TERMINAL_KEYRING_SERVICE`` names)."""

    def __init__(self, service: str | None = None) -> None:
        if service is None:
            service = os.environ.get(SERVICE_ENV) or SERVICE
        if not service or service != service.strip():
            raise ValueError("the keyring service name must be non-empty, without surrounding spaces")
        self.service = service

    # -- public API

    def save(self, account: str, key: ApiKey) -> None:
        """Store ``key`` for ``account``, replacing what was there."""
        _check_account(account)
        if not isinstance(key, ApiKey):
            raise TypeError("save() takes an ApiKey")
        remember(key.api_key, key.secret, key.password)
        value = key._to_json()
        action = f"save the keys of account '{account}'"
        self._call(action, key, lambda backend: backend.set_password(self.service, account, value))

    def load(self, account: str) -> ApiKey | None:
        """The keys stored for ``account``, read from the keyring now; ``None`` if there are none."""
        _check_account(account)
        text = self._call(
            f"read the keys of account '{account}'", None, lambda b: b.get_password(self.service, account)
        )
        if text is None:
            return None
        key = ApiKey._from_json(text, account)
        remember(key.api_key, key.secret, key.password)
        return key

    def has_key(self, account: str) -> bool:
        """Whether keys are stored for ``account`` (reads the entry, hands nothing out)."""
        _check_account(account)
        return self._call(
            f"look up the keys of account '{account}'",
            None,
            lambda b: b.get_password(self.service, account) is not None,
        )

    def accounts_with_keys(self, candidates: Iterable[str]) -> list[str]:
        """Those of ``candidates`` (e.g. the configured accounts) that have keys stored.

        The keyring API cannot list entries, so the caller says which to look for.
        """
        return [account for account in candidates if self.has_key(account)]

    def delete(self, account: str) -> bool:
        """Remove ``account``'s keys; ``False`` if there were none."""
        _check_account(account)
        return self._call(f"remove the keys of account '{account}'", None, _deleting(self.service, account))

    # -- other secrets: a cluster's TLS private key, ... -------------------------------------------
    def save_secret(self, name: str, text: str) -> None:
        """Keep a secret that is not an exchange key (``name``: what it is, e.g.
        "research-tls-key") under its own service, ``<service>:secret``."""
        _check_account(name)
        _remember_secret(text)
        self._call(f"save the secret '{name}'", None, lambda b: b.set_password(self._secrets, name, text))

    def load_secret(self, name: str) -> str | None:
        _check_account(name)
        text = self._call(f"read the secret '{name}'", None, lambda b: b.get_password(self._secrets, name))
        if text is not None:
            _remember_secret(text)
        return text

    def delete_secret(self, name: str) -> bool:
        _check_account(name)
        return self._call(f"remove the secret '{name}'", None, _deleting(self._secrets, name))

    @property
    def _secrets(self) -> str:
        return f"{self.service}:secret"

    def check(self) -> None:
        """Raise ``KeyringUnavailableError`` if the keyring in use is not a usable OS keyring.

        Cheap: looks at the backend only, reads nothing and prompts for nothing.
        """
        self._backend("keep exchange keys")

    def backend_description(self) -> str:
        """The keyring in use, in words: "Secret Service (GNOME Keyring)", "macOS Keychain", ..."""
        try:
            backend = keyring.get_keyring()
        except _CONFIG_ERRORS:
            return "none (the configured keyring backend cannot be loaded)"
        if _CHAINER in _class_names(backend):
            backend = self._from_chain(backend) or backend
        return _describe_backend(backend)

    # -- internals
    #
    # Errors are raised *after* the except block, not inside it: an error raised
    # while handling the library's exception would carry it as __context__, and
    # that exception (or its traceback's frames) may hold the very values we keep
    # out of messages. So KeyringUnavailableError has neither __cause__ nor __context__.

    def _call[T](
        self, action: str, key: ApiKey | None, operation: Callable[[keyring.backend.KeyringBackend], T]
    ) -> T:
        backend = self._backend(action)
        failure: BaseException | None = None
        try:
            return operation(backend)
        except _backend_errors() as exc:
            failure = exc
        error = self._unavailable(failure, backend, action, key)
        del failure
        raise error

    def _backend(self, action: str) -> keyring.backend.KeyringBackend:
        """The OS keyring to use, or ``KeyringUnavailableError``: never a file, never nothing."""
        detail = ""
        try:
            backend = keyring.get_keyring()
        except _CONFIG_ERRORS as exc:
            detail = _detail(exc, None)
        if detail:
            name = os.environ.get("PYTHON_KEYRING_BACKEND") or "the one in keyringrc.cfg"
            raise KeyringUnavailableError(
                f"The keyring backend configured for Python ({name}) cannot be loaded, "
                f"so the terminal cannot {action}. Remove that setting to use the system keyring.",
                reason="not-os-keyring",
                backend=name,
                detail=detail,
            )
        names = _class_names(backend)
        if _CHAINER in names:
            chosen = self._from_chain(backend)
            if chosen is None:
                raise self._not_os_keyring(backend, action)
            return chosen
        if names[0] == _FAIL:
            raise self._no_backend(backend, action)
        if _os_keyring_kind(backend) is None:
            raise self._not_os_keyring(backend, action)
        return backend

    @staticmethod
    def _from_chain(chainer: Any) -> keyring.backend.KeyringBackend | None:
        """The chain's best OS keyring: the others in it (files, ...) are never consulted."""
        for backend in chainer.backends:  # sorted by priority, highest first
            if _os_keyring_kind(backend) is not None:
                return backend
        return None

    @staticmethod
    def _no_backend(backend: object, action: str, detail: str = "") -> KeyringUnavailableError:
        return KeyringUnavailableError(
            f"No usable keyring was found (the keyring library's backend is {_class_names(backend)[0]}), "
            f"so the terminal cannot {action}; it keeps exchange keys only in the operating system's "
            f"keyring, never in a file. {_install_hint()}",
            reason="no-backend",
            backend=_describe_backend(backend),
            detail=detail,
        )

    @staticmethod
    def _not_os_keyring(backend: object, action: str) -> KeyringUnavailableError:
        description = _describe_backend(backend)
        config = keyring.util.platform_.config_root() / "keyringrc.cfg"
        return KeyringUnavailableError(
            f"The keyring backend in use, {description}, is not the operating system's keyring "
            f"(it may keep secrets in a file, or nowhere), so the terminal will not {action} there. "
            f"Remove the PYTHON_KEYRING_BACKEND setting and the default-keyring line in {config} "
            f"so the system keyring is used. If there is none: {_install_hint()}",
            reason="not-os-keyring",
            backend=description,
        )

    def _unavailable(
        self, exc: BaseException, backend: object, action: str, key: ApiKey | None
    ) -> KeyringUnavailableError:
        detail = _detail(exc, key)
        description = _describe_backend(backend)
        if isinstance(exc, keyring.errors.NoKeyringError):
            return self._no_backend(backend, action, detail)
        # secretstorage's errors for a locked item or a dismissed unlock prompt come through unwrapped.
        if isinstance(exc, keyring.errors.KeyringLocked) or _is_named(
            exc, "LockedException", "PromptDismissedException"
        ):
            message = f"The keyring ({description}) is locked, so the terminal cannot {action}. {UNLOCK_HINT}"
            reason = "locked"
        elif isinstance(exc, keyring.errors.InitError):
            message = (
                f"The keyring ({description}) could not be opened, so the terminal cannot {action}. "
                "Make sure it has a default (Login) keyring and unlock it: open your keyring app "
                "(Passwords and Keys/Seahorse, KWallet Manager, Keychain Access) to create or unlock it."
            )
            reason = "cannot-open"
        elif isinstance(exc, keyring.errors.KeyringError):
            message = f"The keyring ({description}) refused to {action}: {detail}"
            reason = "refused"
        else:
            message = (
                f"The keyring ({description}) could not be reached, so the terminal cannot {action}. "
                f"{_install_hint()}"
            )
            reason = "unreachable"
        return KeyringUnavailableError(message, reason=reason, backend=description, detail=detail)


def _is_named(exc: BaseException, *names: str) -> bool:
    """``exc`` is of a class called one of ``names`` (secretstorage's, which is not imported here)."""
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def _check_account(account: str) -> None:
    if not isinstance(account, str) or not account or account != account.strip() or len(account) > 200:
        raise CredentialError(
            "An account name must be 1 to 200 characters without leading or trailing spaces."
        )
    if any(not ch.isprintable() for ch in account):
        raise CredentialError("An account name must not contain control characters.")
