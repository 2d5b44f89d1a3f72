"""Trading on screen: the order ticket (dock and F9 quick ticket), the order
confirmation, the open orders, positions and fills panels, and the keyboard
trading actions. Everything talks to one ``terminal.trading.broker.Broker``
(paper or live) through ``TradingDesk`` (``desk.py``); with no broker the
ticket says so and the panels stay empty.
"""
