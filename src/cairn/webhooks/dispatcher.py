"""The background sender: one thread per database per process, for as long as the process runs.

It starts when a registry store is opened on the database (and on :func:`wake`). Each pass
claims due deliveries (:mod:`outbox`) and sends each on a thread of its own (at most
``workers`` at once, so one slow receiver does not hold up the others); then the thread
sleeps until the earliest pending delivery is due, but never longer than ``sweep_s``. That
sweep is what sends deliveries other processes left behind (a script that exited after its
grace period, a process that crashed and whose lease ran out). :func:`wake`, called after a
registry write that queued deliveries, cuts the sleep short. A database that fails is tried
again after growing pauses (up to ``sweep_s``), never given up on. Registry calls never wait.

At exit a process gives its due deliveries ``exit_grace_s`` to go. Then claims whose attempt
has not started are released for the next process; attempts in flight keep their lease (the
receiver may already have the request: releasing it would have it sent twice and the first
answer never recorded).

Dispatchers are kept by database URI and hold their engine weakly: an engine dropped by
:func:`cairn.store.db.engine.dispose_engines` is not kept alive, and the thread ends with it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref

from sqlalchemy import Engine

from cairn.clock import now_ms
from cairn.webhooks import outbox, sender
from cairn.webhooks.outbox import Claim
from cairn.webhooks.settings import WebhookSettings

_log = logging.getLogger("cairn.webhooks")

_dispatchers: dict[str, Dispatcher] = {}  # by database URI
_registry_lock = threading.Lock()  # taken before any dispatcher's own lock
_atexit_registered = False


class Dispatcher:
    def __init__(self, key: str, engine: Engine) -> None:
        self.key = key
        self._engine = weakref.ref(engine)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight: dict[str, Claim] = {}  # claimed by this process, not yet recorded
        self._sending: set[str] = set()  # of those, the ones whose attempt has started
        self._claiming = False  # a claim is under way (rows may be ours, not yet in _inflight)
        self._closing = False

    # ------------------------------------------------------------------ control

    def use(self, engine: Engine) -> None:
        """Work through ``engine`` from now on (the one this process now has for the URI);
        a new engine means the database was opened afresh: look at it at once."""
        with self._lock:
            if self._engine() is not engine:
                self._engine = weakref.ref(engine)
                self._wake.set()

    def start(self) -> None:
        """Run the thread if it is not running (its first pass looks at once)."""
        with self._lock:
            self._start_locked()

    def wake(self) -> None:
        """Look for due deliveries now."""
        with self._lock:
            self._wake.set()
            self._start_locked()

    def _start_locked(self) -> None:
        if self._closing or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="cairn-webhooks", daemon=True)
        self._thread.start()

    def drain(self, deadline: float) -> None:
        """Let due deliveries go until ``deadline`` (monotonic), then :meth:`close`."""
        while time.monotonic() < deadline:
            with self._lock:
                if self._thread is None:
                    break
                idle = not (self._inflight or self._claiming or self._wake.is_set())
            if idle:
                engine = self._engine()
                try:
                    if engine is None or not outbox.has_due(engine):
                        break
                except Exception:
                    break
                self._wake.set()  # never a new thread here: 3.12 refuses them at exit
            time.sleep(0.02)
        self.close(deadline)

    def close(self, deadline: float | None = None) -> None:
        """Stop claiming; wait for the thread (until ``deadline``, if given) and release the
        claims whose attempt has not started. Attempts in flight keep their lease."""
        with self._lock:
            self._closing = True
            thread = self._thread
            self._wake.set()
        if thread is not None and deadline is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            unsent = [c for i, c in self._inflight.items() if i not in self._sending]
            for claim in unsent:
                del self._inflight[claim.delivery_id]
        self._release(unsent)

    def _release(self, claims: list[Claim]) -> None:
        engine = self._engine()
        if engine is None or not claims:
            return
        try:
            outbox.release(engine, claims)
        except Exception as exc:  # the database may be gone at exit: the leases will end
            _log.debug("Could not release webhook deliveries: %s", exc)

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # a bug, not a receiver's failure: say so, let the next wake restart
            _log.exception("The webhook dispatcher stopped")
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _loop(self) -> None:
        failures = 0
        while True:
            with self._lock:
                if self._closing:
                    self._thread = None
                    return
            settings = WebhookSettings.from_env()
            self._wake.clear()
            try:
                wait = self._pass(settings)
                failures = 0
            except Exception as exc:  # the database is unreachable (or gone): back off
                failures += 1
                level = logging.WARNING if failures == 1 else logging.DEBUG
                _log.log(level, "Webhook dispatcher cannot read the outbox: %s", exc)
                wait = min(settings.sweep_s, 0.5 * 2 ** min(failures - 1, 16))
            if wait is None:
                return  # the engine is gone
            self._wake.wait(wait)

    def _pass(self, settings: WebhookSettings) -> float | None:
        """Claim and send what is due; how long to sleep (None: the engine is gone and the
        thread has ended). The engine is held only while a pass (or a send) runs."""
        engine = self._engine()
        if engine is None:
            self._stop_orphaned()
            return None
        for claim in self._claim(engine, settings):
            try:
                threading.Thread(
                    target=self._deliver,
                    args=(engine, claim, settings),
                    name="cairn-webhook",
                    daemon=True,
                ).start()
            except RuntimeError:  # no new threads while the interpreter shuts down
                self._deliver(engine, claim, settings)
        with self._lock:
            if len(self._inflight) >= settings.workers:
                return settings.sweep_s  # a send that ends wakes the thread
        next_due = outbox.next_due_ms(engine)
        if next_due is None:
            return settings.sweep_s
        return min(settings.sweep_s, max(0.0, (next_due - now_ms()) / 1000))

    def _stop_orphaned(self) -> None:
        with _registry_lock, self._lock:
            if self._engine() is not None:  # a new engine came meanwhile: keep going
                return
            self._thread = None
            if _dispatchers.get(self.key) is self:
                del _dispatchers[self.key]

    def _claim(self, engine: Engine, settings: WebhookSettings) -> list[Claim]:
        with self._lock:
            free = settings.workers - len(self._inflight)
            if self._closing or free <= 0:
                return []
            self._claiming = True
        claimed: list[Claim] = []
        try:
            claimed = outbox.claim_due(engine, free, settings)
        finally:
            with self._lock:
                self._claiming = False
                for claim in claimed:
                    self._inflight[claim.delivery_id] = claim
        return claimed

    def _deliver(self, engine: Engine, claim: Claim, settings: WebhookSettings) -> None:
        with self._lock:
            closing = self._closing
            if closing:
                self._inflight.pop(claim.delivery_id, None)
            else:
                self._sending.add(claim.delivery_id)
        if closing:  # not started: the next process (or this one's next dispatcher) sends it
            self._release([claim])
            return
        try:
            if not claim.active:
                outbox.abandon(
                    engine, claim, "The webhook was disabled before this delivery was sent."
                )
                return
            attempt = sender.send(claim.url, claim.secret, claim.delivery_id, claim.body, settings)
            outbox.record(engine, claim, attempt, settings)
        except Exception as exc:  # the record could not be written: the lease will expire
            _log.warning("Webhook delivery %s: %s", claim.delivery_id, exc)
        finally:
            with self._lock:
                self._inflight.pop(claim.delivery_id, None)
                self._sending.discard(claim.delivery_id)
            self._wake.set()


# ---------------------------------------------------------------------- one per database


def dispatcher_for(engine: Engine) -> Dispatcher:
    global _atexit_registered
    key = engine.url.render_as_string(hide_password=False)
    with _registry_lock:
        dispatcher = _dispatchers.get(key)
        if dispatcher is None:
            dispatcher = _dispatchers[key] = Dispatcher(key, engine)
            if not _atexit_registered:
                atexit.register(_drain_all)
                _atexit_registered = True
        else:
            dispatcher.use(engine)
    return dispatcher


def start(engine: Engine) -> None:
    """Run this process's dispatcher for ``engine`` (its sweep sends what is pending)."""
    dispatcher_for(engine).start()


def wake(engine: Engine) -> None:
    """Have this process's dispatcher for ``engine`` look for due deliveries now."""
    dispatcher_for(engine).wake()


def shutdown(timeout_s: float = 5.0) -> None:
    """Stop every dispatcher of this process (tests; the next start begins afresh)."""
    with _registry_lock:
        dispatchers = list(_dispatchers.values())
        _dispatchers.clear()
    deadline = time.monotonic() + timeout_s
    for dispatcher in dispatchers:
        dispatcher.close(deadline)


def _drain_all() -> None:
    with _registry_lock:
        dispatchers = list(_dispatchers.values())
    if not dispatchers:
        return
    deadline = time.monotonic() + WebhookSettings.from_env().exit_grace_s
    for dispatcher in dispatchers:
        dispatcher.drain(deadline)


def _forget_in_child() -> None:
    """A forked child has none of the parent's threads: start afresh."""
    _dispatchers.clear()


os.register_at_fork(after_in_child=_forget_in_child)
