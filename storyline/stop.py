"""Stopping on request: SIGTERM or Ctrl-C ends `serve`, `watch` and `add` after the article in hand.

Each article is committed in its own transaction, so a process may end between any two without
losing or half-writing anything; stopping well is then only a matter of not starting the next
article, not printing a traceback from any process, and saying in one line what was kept. The
first signal asks the work to stop (``Stop.requested``, checked between articles); if it has not
ended ``store.stop_timeout_s`` later, or at a second signal, the process ends at once with the same
line. Signals that arrive while Python still imports the command (``catch_early``) count too.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_early: list[int] = []  # signals caught before a command said how it stops


def catch_early() -> None:
    """The command's first act: a stop signal is noted, not raised, until the command installs
    its ``Stop`` (or ``release_early`` hands it to Python's usual handling)."""
    for sig in SIGNALS:
        signal.signal(sig, lambda signum, _: _early.append(signum))


def release_early() -> None:
    """For a command that does not stop gracefully: the usual handlers back (Ctrl-C raises
    KeyboardInterrupt), and a signal noted meanwhile delivered now."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for sig in dict.fromkeys(_early):
        signal.raise_signal(sig)


def _n(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


@dataclass
class Kept:
    """What a stopping process says it kept: the articles it committed and the stories they are in; with
    ``total`` (inputs expected) and ``read`` (inputs taken so far), how many it did not read."""

    articles: int = 0
    stories: set[str] = field(default_factory=set)
    total: int | None = None
    read: int | None = None

    def decided(self, decision) -> None:
        """An ``on_decision`` callback: one more article committed."""
        self.articles += 1
        self.stories -= {m["story"] for m in decision.merged}  # bridged into this one: one story now
        self.stories.add(decision.story_id)

    def reading(self, items):
        """The inputs, counted as they are read (from now: none read is 0, not unknown)."""
        self.read = 0
        return self._counted(items)

    def _counted(self, items):
        for item in items:
            self.read += 1
            yield item

    def line(self) -> str:
        out = f"stopped: kept {_n(self.articles, 'article', 'articles')} ({_n(len(self.stories), 'story', 'stories')})"
        if self.read is not None:
            out += f"; {self.total - self.read:,} not read" if self.total is not None else f"; {self.read:,} read, the rest not"
        return out


class Stop:
    """A process's stop request. ``install`` makes SIGINT and SIGTERM ask for it; ``requested`` is
    what the work checks between articles; ``on_request`` callbacks (halting a watcher thread,
    a delivery thread) run at the request. ``say`` prints ``kept.line()`` once."""

    def __init__(self, bound_s: float, kept: Kept | None = None):
        self.bound_s = float(bound_s)
        self.kept = kept or Kept()
        self.requested = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._said, self._saying = False, threading.RLock()  # re-entered by a second signal's exit
        self._pid = os.getpid()
        self._pipe: int | None = None  # the write end the signal handler writes to, once installed

    def install(self) -> "Stop":
        """Take the signals over; one caught before (``catch_early``) is a request at once.

        The handler only writes a byte to a pipe; a thread of its own reads it and does the rest.
        A handler runs in the main thread between any two bytecodes, maybe inside an Event's lock
        that the request would take again (a deadlock); a write to a pipe takes no lock.
        """
        read_end, self._pipe = os.pipe()
        threading.Thread(target=self._listen, args=(read_end,), name="storyline-stop", daemon=True).start()
        for sig in SIGNALS:
            signal.signal(sig, self.signalled)
        if _early:
            _early.clear()
            self.signalled()
        return self

    def _listen(self, read_end: int) -> None:
        while os.read(read_end, 1):
            self._on_signal()

    def on_request(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)
        if self.requested.is_set():
            callback()

    def signalled(self, signum=None, frame=None) -> None:
        """The signal handler: the first signal asks, a second ends the process now."""
        if os.getpid() != self._pid:  # a forked child that has not reset its handlers yet
            return
        if self._pipe is None:
            self._on_signal()
        else:
            os.write(self._pipe, b"s")

    def _on_signal(self) -> None:
        if self.requested.is_set():
            self.exit()
        self.request()

    def request(self) -> None:
        if self.requested.is_set():
            return
        self.requested.set()
        timer = threading.Timer(self.bound_s, self.exit)  # the bound: whatever is in hand is given up
        timer.daemon = True
        timer.start()
        for callback in self._callbacks:
            callback()

    def shown(self, echo: Callable[[Any], None]) -> Callable[[Any], None]:
        """An ``on_decision`` callback that prints a decision and counts it kept in one step, so the
        line ``say`` writes from the bound's timer never counts a decision whose line it did not
        flush (it did: "kept 4" after three lines, the fourth lost in the buffer at ``os._exit``)."""
        def decided(decision) -> None:
            with self._saying:
                echo(decision)
                self.kept.decided(decision)
        return decided

    def say(self) -> None:
        """The one line, once, on stderr (stdout flushed first: the decisions printed stay whole)."""
        with self._saying:  # the main thread and the bound's timer may both come here: one writes
            if self._said:
                return
            sys.stdout.flush()
            sys.stderr.write(self.kept.line() + "\n")
            sys.stderr.flush()
            self._said = True

    def exit(self) -> None:
        """End the process now, exit status 0: what was committed is kept, the article in hand
        is not (its transaction never commits)."""
        try:
            self.say()
        finally:
            os._exit(0)
