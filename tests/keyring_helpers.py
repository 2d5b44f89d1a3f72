"""The throwaway keyring of ``scripts/with-keyring``, as the tests that use it
need it: a plain failure, saying how to run them, when it is not there, and an
unlock without a prompt for the tests that lock it.

The tests are marked ``keyring``; a plain ``pytest`` runs itself again inside
``scripts/with-keyring`` when it collects one (tests/conftest.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import secretstorage


def needs_keyring() -> None:
    """Fail at once, saying how to run the test, outside ``scripts/with-keyring``
    (the test would otherwise reach a desktop's own keyring, or none)."""
    if not os.environ.get("WITH_KEYRING_PASSWORD"):
        pytest.fail(
            "run this test through scripts/test or scripts/with-keyring (it needs the throwaway keyring)"
        )


def unlock(collection: secretstorage.Collection) -> None:
    """Unlock without a prompt, with the password with-keyring gave the collection.

    A Secret Service client cannot unlock without a prompt; gnome-keyring's
    own interface can, given the password (as its PAM module does).
    """
    # secretstorage is Linux's keyring client: imported here, so that this
    # module imports wherever the keyring-free tests run.
    from secretstorage.util import DBusAddressWrapper, format_secret, open_session

    connection = collection.connection
    session = open_session(connection)
    internal = DBusAddressWrapper(
        "/org/freedesktop/secrets", "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface", connection
    )
    password = os.environ["WITH_KEYRING_PASSWORD"].encode()
    internal.call(
        "UnlockWithMasterPassword",
        "o(oayays)",
        collection.collection_path,
        format_secret(session, password, "text/plain"),
    )
