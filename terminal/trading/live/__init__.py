"""The live broker: orders on a real exchange through ccxt, with a journal of
every request and answer, reconciliation after a lost answer, and the user's
orders and fills kept in step with the exchange's.

``broker`` (the ``Broker``), ``exchange`` (the ccxt calls and their errors),
``send`` and ``orders`` (placing, with client order ids), ``state``, ``refresh``
and ``sync`` (the account as the exchange has it), ``reconcile`` (an order whose
answer was lost), ``journal`` and ``rejections``.
"""
