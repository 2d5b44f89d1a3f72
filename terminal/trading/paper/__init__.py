"""The paper account: orders filled against the live book and tape, with the
fees and rules of the market, kept in the history file.

``account`` (the book-keeping, Qt- and I/O-free), ``settings`` (what it starts
with and its fees, from the configuration), ``broker`` (the ``Broker``
the window trades through), ``feed`` and ``market_view`` (what it reads of the
session: book, tape, prints of symbols not on screen), ``store`` and
``throttled_save`` (kept across restarts), ``ledger`` (fills into positions and
balances).
"""
