"""Driving the accounts dialog as a user does: open it from the window and wait
until it has read the exchanges and the keyring, pick an account, close it."""

from __future__ import annotations

from terminal.ui.accounts.dialog import AccountsDialog
from tests.ui.harness import Terminal


async def open_dialog(t: Terminal) -> AccountsDialog:
    dialog = t.window.open_accounts()
    await t.until(
        lambda: dialog.catalogue and dialog.keys.keyring_ok is not None, "the exchange list and keyring"
    )
    await t.until(lambda: not dialog.busy, "the dialog to finish loading")
    return dialog


async def close_dialog(t: Terminal, dialog: AccountsDialog) -> None:
    dialog.reject()
    await dialog.shutdown()
    assert not dialog.isVisible()


def select(dialog: AccountsDialog, name: str) -> None:
    dialog.account_list.setCurrentRow(dialog.account_names().index(name))
