"""Exchange keys through the real ``keyring`` API and a real Secret Service.

The keyring is GNOME Keyring on a private D-Bus session bus, in a throwaway
home: run these through ``scripts/with-keyring`` (``scripts/test`` does). Run
any other way, the tests that need the keyring fail and say so; they never
touch the keyring of the desktop session they happen to run in (they lock it).

Nothing of keyring's API is mocked. Where a test needs another backend (none,
a plaintext file, a chain), it installs a real backend object with
``keyring.set_keyring`` and puts the previous one back afterwards.
"""

from __future__ import annotations

import io
import json
import logging
import os
import traceback
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.backends.SecretService
import pytest
import secretstorage

from terminal.credentials import (
    ApiKey,
    CredentialError,
    CredentialStore,
    KeyringUnavailableError,
    install_redactor,
    redact,
)
from terminal.errors import TerminalError
from tests.keyring_helpers import unlock

pytestmark = pytest.mark.keyring  # the throwaway keyring of scripts/with-keyring

RUN_IT_RIGHT = (
    "The keyring tests need the throwaway Secret Service that scripts/with-keyring starts: run "
    "`scripts/test`, or `scripts/with-keyring .venv/bin/python -m pytest "
    "tests/test_credentials.py`. "
    "(They refuse to run against a desktop session's own keyring, because they lock it.)"
)

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PASSWORD = "correct horse battery staple"
SECRETS = (SECRET, PASSWORD)


def the_key() -> ApiKey:
    return ApiKey(API_KEY, SECRET, PASSWORD)


def assert_no_secret(text: str) -> None:
    for value in (*SECRETS, API_KEY):
        assert value not in text


def assert_error_keeps_secrets(error: BaseException) -> None:
    """Neither the error's words nor anything chained to it carries a secret."""
    texts = [str(error), repr(error), *map(str, error.args), "".join(traceback.format_exception(error))]
    if isinstance(error, TerminalError):
        texts.append(error.user_message())
    if isinstance(error, KeyringUnavailableError):
        texts += [error.detail, error.backend]
    for text in texts:
        assert_no_secret(text)
    assert error.__cause__ is None
    assert error.__context__ is None  # the library's exception (and its frames) are not kept


# -- the real keyring ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def secret_service() -> Iterator[secretstorage.Collection]:
    """The default collection of with-keyring's Secret Service; fails the test if there is none."""
    if not os.environ.get("WITH_KEYRING_PASSWORD") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.fail(RUN_IT_RIGHT, pytrace=False)
    try:
        connection = secretstorage.dbus_init()
    except secretstorage.exceptions.SecretServiceNotAvailableException as exc:
        pytest.fail(f"{RUN_IT_RIGHT} The session bus is not usable: {exc}", pytrace=False)
    if not secretstorage.check_service_availability(connection):
        pytest.fail(f"{RUN_IT_RIGHT} No Secret Service is on the session bus.", pytrace=False)
    yield secretstorage.get_default_collection(connection)
    connection.close()


@pytest.fixture
def real_keyring(secret_service: secretstorage.Collection) -> keyring.backend.KeyringBackend:
    """The backend keyring chose by itself: the Secret Service, not a fail or file backend."""
    backend = keyring.get_keyring()
    assert type(backend) is keyring.backends.SecretService.Keyring, backend
    assert not secret_service.is_locked()
    return backend


@pytest.fixture
def store(real_keyring: keyring.backend.KeyringBackend) -> Iterator[CredentialStore]:
    """A store under a service name of its own, emptied afterwards."""
    service = f"terminal-test-{uuid.uuid4().hex[:8]}"
    yield CredentialStore(service)
    for account in ("binance-main", "okx-sub", "kraken"):
        if keyring.get_password(service, account) is not None:
            keyring.delete_password(service, account)


@pytest.fixture
def other_backend() -> Iterator[None]:
    """Lets a test install another backend; the one keyring chose comes back afterwards."""
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def items(collection: secretstorage.Collection, service: str) -> list[secretstorage.Item]:
    return list(collection.search_items({"service": service}))


def test_keys_round_trip_through_the_secret_service(
    store: CredentialStore, secret_service: secretstorage.Collection
) -> None:
    assert store.backend_description() == "Secret Service (GNOME Keyring)"
    store.check()
    assert store.load("binance-main") is None
    assert not store.has_key("binance-main")

    store.save("binance-main", the_key())
    store.save("okx-sub", ApiKey("okx-key-0123456789", "okx-secret-0123456789", "okx-passphrase"))

    # It is in the real keyring: one item per account, the value the terminal's JSON.
    stored = {item.get_attributes()["username"]: item for item in items(secret_service, store.service)}
    assert set(stored) == {"binance-main", "okx-sub"}
    value = json.loads(stored["binance-main"].get_secret())
    assert value == {"format": 1, "apiKey": API_KEY, "secret": SECRET, "password": PASSWORD}

    assert store.load("binance-main") == the_key()
    assert store.load("okx-sub") == ApiKey("okx-key-0123456789", "okx-secret-0123456789", "okx-passphrase")
    assert store.accounts_with_keys(["kraken", "okx-sub", "binance-main"]) == ["okx-sub", "binance-main"]

    replacement = ApiKey("new-key-0123456789", "new-secret-0123456789")
    store.save("binance-main", replacement)
    assert store.load("binance-main") == replacement
    assert replacement.password is None
    assert len(items(secret_service, store.service)) == 2

    assert store.delete("binance-main") is True
    assert store.load("binance-main") is None
    assert store.delete("binance-main") is False
    assert [i.get_attributes()["username"] for i in items(secret_service, store.service)] == ["okx-sub"]


def test_ccxt_gets_the_fields_it_knows(store: CredentialStore) -> None:
    store.save("kraken", ApiKey("kraken-key-0123456789", "kraken-secret-0123456789"))
    loaded = store.load("kraken")
    assert loaded is not None
    expected = {"apiKey": "kraken-key-0123456789", "secret": "kraken-secret-0123456789"}
    assert loaded.as_ccxt_config() == expected
    assert the_key().as_ccxt_config()["password"] == PASSWORD


@pytest.fixture
def locked(secret_service: secretstorage.Collection) -> Iterator[secretstorage.Collection]:
    """The default collection, locked for the test and unlocked again afterwards."""
    secret_service.lock()
    assert secret_service.is_locked()
    yield secret_service
    unlock(secret_service)
    assert not secret_service.is_locked()


def test_a_locked_keyring_asks_to_be_unlocked(
    store: CredentialStore, locked: secretstorage.Collection
) -> None:
    # No prompter can show here (no display), so the unlock prompt fails at once, as
    # when a user dismisses it: the error says to unlock, and nothing else is tried.
    errors: list[KeyringUnavailableError] = []
    for operation in (
        lambda: store.save("binance-main", the_key()),
        lambda: store.load("binance-main"),
        lambda: store.has_key("binance-main"),
        lambda: store.delete("binance-main"),
    ):
        with pytest.raises(KeyringUnavailableError) as caught:
            operation()
        errors.append(caught.value)
    for error in errors:
        assert error.reason == "locked"
        assert "locked" in str(error) and "unlock" in str(error).lower()
        assert error.backend == "Secret Service (GNOME Keyring)"
        assert "Secret Service (GNOME Keyring)" in str(error)
        assert_error_keeps_secrets(error)
    assert "'binance-main'" in str(errors[0])
    assert locked.is_locked()


def test_a_missing_collection_says_the_keyring_cannot_be_opened(
    store: CredentialStore, other_backend: None
) -> None:
    backend = keyring.backends.SecretService.Keyring()
    backend.preferred_collection = "/org/freedesktop/secrets/collection/no_such_collection"
    keyring.set_keyring(backend)
    with pytest.raises(KeyringUnavailableError) as caught:
        store.save("binance-main", the_key())
    assert caught.value.reason == "cannot-open"
    assert "could not be opened" in str(caught.value) and "unlock" in str(caught.value)
    assert "InitError" in caught.value.detail
    assert_error_keeps_secrets(caught.value)


# -- no keyring, or not a real one ---------------------------------------------------------------


class PlaintextFileKeyring(keyring.backend.KeyringBackend):
    """What keyrings.alt's PlaintextKeyring does: secrets in a file, readable by anyone who looks.

    Priority -1: keyring never picks it (nor chains it) by itself, even though
    defining the class registers it with keyring.
    """

    priority = -1
    path: ClassVar[Path]

    def _read(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._read()
        entries[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(entries))

    def delete_password(self, service: str, username: str) -> None:
        entries = self._read()
        entries.pop(f"{service}/{username}")
        self.path.write_text(json.dumps(entries))


def every_operation(store: CredentialStore) -> list[KeyringUnavailableError]:
    errors = []
    for operation in (
        lambda: store.save("binance-main", the_key()),
        lambda: store.load("binance-main"),
        lambda: store.has_key("binance-main"),
        lambda: store.delete("binance-main"),
        lambda: store.accounts_with_keys(["binance-main"]),
        store.check,
    ):
        with pytest.raises(KeyringUnavailableError) as caught:
            operation()
        errors.append(caught.value)
    return errors


def test_no_keyring_backend_says_what_to_install(other_backend: None) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    store = CredentialStore("terminal-test-none")
    assert store.backend_description() == "none (keyring found no usable backend)"
    for error in every_operation(store):
        assert error.reason == "no-backend"
        text = str(error)
        assert "No usable keyring" in text
        assert "keyring.backends.fail.Keyring" in text  # the backend found
        assert "Install" in text and "gnome-keyring" in text
        assert "never in a file" in text
        assert_error_keeps_secrets(error)


def test_keyrings_no_keyring_error_gives_the_same_message(
    store: CredentialStore, other_backend: None
) -> None:
    class NoBackendYet(keyring.backends.SecretService.Keyring):
        """A Secret Service backend whose service is gone: keyring says NoKeyringError."""

        priority = -1  # never chosen by keyring itself (defining it registers it)

        def get_password(self, service: str, username: str) -> str | None:
            return keyring.backends.fail.Keyring().get_password(service, username)

    keyring.set_keyring(NoBackendYet())
    with pytest.raises(KeyringUnavailableError) as caught:
        store.load("binance-main")
    assert caught.value.reason == "no-backend"
    assert "Install" in str(caught.value)
    assert "NoKeyringError" in caught.value.detail
    assert_error_keeps_secrets(caught.value)


def test_a_plaintext_file_backend_is_never_used(tmp_path: Path, other_backend: None) -> None:
    PlaintextFileKeyring.path = tmp_path / "keyring_pass.cfg"
    keyring.set_keyring(PlaintextFileKeyring())
    store = CredentialStore("terminal-test-plain")
    for error in every_operation(store):
        assert error.reason == "not-os-keyring"
        assert "is not the operating system's keyring" in str(error)
        assert "PlaintextFileKeyring" in str(error)
        assert "PYTHON_KEYRING_BACKEND" in str(error)
        assert_error_keeps_secrets(error)
    assert not PlaintextFileKeyring.path.exists()

    # Keys someone put in such a file are not read either.
    PlaintextFileKeyring().set_password("terminal-test-plain", "binance-main", json.dumps({"format": 1}))
    with pytest.raises(KeyringUnavailableError):
        store.load("binance-main")


def test_the_null_backend_is_refused_rather_than_losing_keys(other_backend: None) -> None:
    # keyring's null backend "stores" by doing nothing: a save would seem to work.
    keyring.set_keyring(keyring.backends.null.Keyring())
    for error in every_operation(CredentialStore("terminal-test-null")):
        assert error.reason == "not-os-keyring"
        assert "disabled" in str(error)


def test_a_chain_uses_its_os_keyring_and_never_the_file_in_it(
    store: CredentialStore, tmp_path: Path, other_backend: None, secret_service: secretstorage.Collection
) -> None:
    PlaintextFileKeyring.path = tmp_path / "keyring_pass.cfg"

    class Chain(keyring.backends.chainer.ChainerBackend):
        priority = -1  # never chosen by keyring itself (defining it registers it)
        # The file first, as if it had the higher priority.
        backends: ClassVar[list[keyring.backend.KeyringBackend]] = [
            PlaintextFileKeyring(),
            keyring.backends.SecretService.Keyring(),
        ]

    keyring.set_keyring(Chain())
    assert store.backend_description() == "Secret Service (GNOME Keyring)"
    store.save("binance-main", the_key())
    assert store.load("binance-main") == the_key()
    assert len(items(secret_service, store.service)) == 1
    assert not PlaintextFileKeyring.path.exists()

    Chain.backends = [PlaintextFileKeyring()]
    with pytest.raises(KeyringUnavailableError) as caught:
        store.load("binance-main")
    assert caught.value.reason == "not-os-keyring"
    assert not PlaintextFileKeyring.path.exists()


# -- nothing shows a secret -------------------------------------------------------------------------


def test_an_api_key_never_shows_its_secret() -> None:
    key = the_key()
    for text in (repr(key), str(key), f"{key}", f"{key!r}", format(key), str([key]), str({"k": key})):
        assert_no_secret(text)
        assert "vmPU…" in text  # the API key only masked
    assert repr(key) == "ApiKey(api_key='vmPU…', secret=<hidden>, password=<hidden>)"
    assert repr(ApiKey("short-key", SECRET)) == "ApiKey(api_key='…', secret=<hidden>)"
    assert ApiKey("k" * 16, SECRET, "  ").password is None


def test_invalid_keys_are_refused_without_echoing_them() -> None:
    for arguments in ((API_KEY, "   "), ("", SECRET), (API_KEY, None)):
        with pytest.raises(CredentialError) as caught:
            ApiKey(*arguments)
        assert_error_keeps_secrets(caught.value)
    for account in ("", " padded ", "tab\there", "x" * 201):
        with pytest.raises(CredentialError):
            CredentialStore().save(account, the_key())


def test_a_foreign_entry_is_reported_without_its_content(store: CredentialStore) -> None:
    # Something else wrote this entry (not JSON; JSON of another shape): its text is never echoed.
    for value in (f"{SECRET} not json", json.dumps({"apiKey": API_KEY, "secret": SECRET})):
        keyring.set_password(store.service, "kraken", value)
        with pytest.raises(CredentialError) as caught:
            store.load("kraken")
        assert "not one the terminal wrote" in str(caught.value)
        assert "Remove the account's keys" in caught.value.user_message()
        assert_error_keeps_secrets(caught.value)


def test_the_log_filter_masks_every_secret_the_store_handed_out(store: CredentialStore) -> None:
    key = ApiKey(API_KEY, SECRET + "+k/=", PASSWORD)
    store.save("binance-main", key)
    loaded = store.load("binance-main")
    assert loaded is not None

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log = logging.getLogger(f"test.redaction.{uuid.uuid4().hex}")
    log.propagate = False
    log.addHandler(handler)
    install_redactor([handler])
    install_redactor([handler])  # twice is once
    assert len(handler.filters) == 1
    try:
        log.warning("signing with %s", loaded.secret)
        log.warning("config %s", {"apiKey": loaded.api_key, "password": loaded.password})
        log.warning(f"f-string {loaded.secret} and %d", 1)
        log.warning("GET /api?secret=%s", urllib.parse.quote(loaded.secret, safe=""))
        log.warning("bad format %s %s", loaded.secret)  # logging would print the raw arguments
        try:
            raise RuntimeError(f"exchange said no to {loaded.password}")
        except RuntimeError:
            log.exception("order failed")
        log.warning("an unrelated value is left alone: %s", "hello-world-1234")
    finally:
        log.removeHandler(handler)
    output = stream.getvalue()
    for value in (key.api_key, key.secret, PASSWORD, "%2Bk%2F%3D"):
        assert value not in output, output
    assert output.count("[redacted]") == 7, output
    assert "order failed" in output and "RuntimeError: exchange said no to [redacted]" in output
    assert "hello-world-1234" in output
    assert redact(f"x{PASSWORD}y") == "x[redacted]y"
