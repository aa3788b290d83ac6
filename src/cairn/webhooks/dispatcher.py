"""The background sender: one thread per database per process, started when there is work.

:func:`wake` (called after every registry write that queued deliveries) starts or nudges the
dispatcher of that engine. It claims due deliveries (:mod:`outbox`), sends each on a thread
of its own (at most ``workers`` at once, so one slow receiver does not hold up the others),
and looks again every ``poll_s`` for retries that came due. When nothing is pending any more
it stops; the next wake starts it again. Registry calls never wait for it.

At exit a process gives its due deliveries ``exit_grace_s`` to go; what is still in flight
then is released for the next process, what is not yet due stays PENDING.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from sqlalchemy import Engine

from cairn.webhooks import outbox, sender
from cairn.webhooks.outbox import Claim
from cairn.webhooks.settings import WebhookSettings

_log = logging.getLogger("cairn.webhooks")

_MAX_FAILED_POLLS = 30  # a database gone for good (dropped, unreachable): stop polling it

_dispatchers: dict[Engine, Dispatcher] = {}
_registry_lock = threading.Lock()
_atexit_registered = False


class Dispatcher:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight: dict[str, Claim] = {}
        self._found_due = True  # whether the last pass claimed anything
        self._closing = False

    # ------------------------------------------------------------------ control

    def wake(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cairn-webhooks", daemon=True
                )
                self._thread.start()

    def drain(self, deadline: float) -> None:
        """Let due deliveries go until ``deadline`` (monotonic), then :meth:`close`."""
        while time.monotonic() < deadline:
            with self._lock:
                if self._thread is None:
                    break  # stopped: nothing was pending
                idle = not self._inflight and not self._found_due
            if idle:
                try:
                    if not outbox.has_due(self.engine):
                        break
                except Exception:
                    break
                self._wake.set()  # never a new thread here: 3.12 refuses them at exit
            time.sleep(0.02)
        self.close(deadline)

    def close(self, deadline: float | None = None) -> None:
        """Stop claiming; wait for the thread (until ``deadline``, if given) and release what
        is still in flight for another process."""
        with self._lock:
            self._closing = True
            thread = self._thread
            self._wake.set()
        if thread is not None and deadline is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            left = list(self._inflight.values())
        try:
            outbox.release(self.engine, left)
        except Exception as exc:  # the database may be gone at exit
            _log.debug("Could not release webhook deliveries: %s", exc)

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # a bug, not a receiver's failure: say so, let the next wake restart
            _log.exception("The webhook dispatcher stopped")
        finally:
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
            settings = _settings()
            self._wake.clear()
            try:
                claimed = self._claim(settings)
                failures = 0
            except Exception as exc:
                failures += 1
                claimed = []
                level = logging.WARNING if failures == 1 else logging.DEBUG
                _log.log(level, "Webhook dispatcher cannot read the outbox: %s", exc)
            for claim in claimed:
                try:
                    threading.Thread(
                        target=self._deliver,
                        args=(claim, settings),
                        name="cairn-webhook",
                        daemon=True,
                    ).start()
                except RuntimeError:  # no new threads while the interpreter shuts down
                    self._deliver(claim, settings)
            if not self._wake.wait(settings.poll_s) and self._may_stop(failures):
                return

    def _claim(self, settings: WebhookSettings) -> list[Claim]:
        with self._lock:
            free = settings.workers - len(self._inflight)
            if self._closing or free <= 0:
                return []
        claimed = outbox.claim_due(self.engine, free, settings)
        with self._lock:
            self._found_due = bool(claimed)
            for claim in claimed:
                self._inflight[claim.delivery_id] = claim
        return claimed

    def _may_stop(self, failures: int) -> bool:
        """Stop when nothing is pending (or the database keeps failing); a wake that came
        meanwhile keeps the thread going."""
        with self._lock:
            if self._inflight or self._wake.is_set():
                return False
        if failures < _MAX_FAILED_POLLS:
            try:
                if failures or outbox.has_pending(self.engine):
                    return False
            except Exception:
                return False
        with self._lock:
            if self._inflight or self._wake.is_set():
                return False
            self._thread = None
            return True

    def _deliver(self, claim: Claim, settings: WebhookSettings) -> None:
        try:
            if not claim.active:
                outbox.abandon(
                    self.engine, claim, "The webhook was disabled before this delivery was sent."
                )
                return
            attempt = sender.send(claim.url, claim.secret, claim.delivery_id, claim.body, settings)
            outbox.record(self.engine, claim, attempt, settings)
        except Exception as exc:  # the record could not be written: the lease will expire
            _log.warning("Webhook delivery %s: %s", claim.delivery_id, exc)
        finally:
            with self._lock:
                self._inflight.pop(claim.delivery_id, None)
            self._wake.set()


# ---------------------------------------------------------------------- one per engine


def dispatcher_for(engine: Engine) -> Dispatcher:
    global _atexit_registered
    dispatcher = _dispatchers.get(engine)
    if dispatcher is None:
        with _registry_lock:
            dispatcher = _dispatchers.get(engine)
            if dispatcher is None:
                dispatcher = _dispatchers[engine] = Dispatcher(engine)
                if not _atexit_registered:
                    atexit.register(_drain_all)
                    _atexit_registered = True
    return dispatcher


def wake(engine: Engine) -> None:
    """Have this process's dispatcher for ``engine`` look for due deliveries now."""
    dispatcher_for(engine).wake()


def resume(engine: Engine) -> None:
    """Start the dispatcher if deliveries are pending (left by a process that ended)."""
    try:
        pending = outbox.has_pending(engine)
    except Exception as exc:
        _log.warning("Cannot look for pending webhook deliveries: %s", exc)
        return
    if pending:
        wake(engine)


def shutdown(timeout_s: float = 5.0) -> None:
    """Stop every dispatcher of this process (tests; the next wake starts afresh)."""
    with _registry_lock:
        dispatchers = list(_dispatchers.values())
        _dispatchers.clear()
    deadline = time.monotonic() + timeout_s
    for dispatcher in dispatchers:
        dispatcher.close(deadline)


def _settings() -> WebhookSettings:
    """The settings from the environment; the defaults (and a warning) if they are invalid,
    so a typo in a variable cannot stop deliveries."""
    try:
        return WebhookSettings.from_env()
    except Exception as exc:
        _log.warning("Ignoring the webhook settings: %s", exc)
        return WebhookSettings()


def _drain_all() -> None:
    with _registry_lock:
        dispatchers = list(_dispatchers.values())
    if not dispatchers:
        return
    deadline = time.monotonic() + _settings().exit_grace_s
    for dispatcher in dispatchers:
        dispatcher.drain(deadline)


def _forget_in_child() -> None:
    """A forked child has none of the parent's threads: start afresh."""
    _dispatchers.clear()


os.register_at_fork(after_in_child=_forget_in_child)
