"""Exchange accounts: the accounts dialog, keys in the keyring and their test,
custom endpoints, and the question before keys go to a foreign host."""
