"""Recent versions of a loopback server's published order book.

A soak test compares what a client shows with the server's book *at the
version the client holds* (Binance's ``u`` / ``lastUpdateId``, OKX's
``seqId``), which the live book has long moved past. ``BookVersions`` keeps the
last ``keep`` changes of one book, each with the sizes it replaced, so the
book as of any kept version is the current book with the newer changes
undone. Recording costs one tuple per changed level; nothing is copied until
``rebuild`` is asked for.
"""

from __future__ import annotations

from collections import deque

#: (bid side?, price key in ticks, size before the change or None if the level was absent)
Undo = tuple[bool, int, float | None]


class BookVersions:
    def __init__(self, keep: int) -> None:
        self.keep = max(0, keep)
        # (version before, version after, what the change replaced), oldest first
        self._ring: deque[tuple[int, int, tuple[Undo, ...]]] = deque(maxlen=max(1, self.keep))

    def record(self, before: int, after: int, undo: list[Undo] | tuple[Undo, ...]) -> None:
        """One published change took the book from version ``before`` to ``after``."""
        if self.keep:
            self._ring.append((before, after, tuple(undo)))

    def oldest(self) -> int | None:
        """The oldest version ``rebuild`` can still give (None: nothing kept)."""
        return self._ring[0][0] if self._ring else None

    def rebuild(
        self, version: int, current: int, bids: dict[int, float], asks: dict[int, float]
    ) -> tuple[dict[int, float], dict[int, float]]:
        """The book (``bids``, ``asks`` at version ``current``) as it was at ``version``.
        KeyError when ``version`` was never published or is no longer kept."""
        b, a = dict(bids), dict(asks)
        if version == current:
            return b, a
        for before, after, undo in reversed(self._ring):
            if after <= version:
                break
            for is_bid, key, size in reversed(undo):
                side = b if is_bid else a
                if size is None:
                    side.pop(key, None)
                else:
                    side[key] = size
            if before == version:
                return b, a
        oldest = self.oldest()
        raise KeyError(
            f"book version {version} is not kept (current {current}, oldest kept {oldest}; "
            f"keep_versions={self.keep})"
        )
