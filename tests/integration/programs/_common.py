"""Shared by the monkey-patched programs (each runs in a fresh interpreter).

``monkey_patch()`` must be the first thing a program does; the programs run
under ``python -W error``, so eventlet's own deprecation notice on import is
filtered here, exactly that one.
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings


def monkey_patch() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"\s*Eventlet is deprecated", category=Warning
        )
        # cryptography 51+ deprecates DSA, which dnspython's DNSSEC module
        # (imported by eventlet's green DNS) touches: as in aioeventlet._hub.
        warnings.filterwarnings(
            "ignore", message="DSA is deprecated", module=r"dns\.dnssecalgs\.dsa\Z"
        )
        import eventlet
    eventlet.monkey_patch()
    assert eventlet.patcher.is_monkey_patched("socket")


class GreenWorker:
    """A greenthread doing checkable work (a SHA-256 chain) until stopped."""

    SEED = b"aioeventlet"

    def __init__(self) -> None:
        import eventlet

        self.rounds = 0
        self.digest = self.SEED
        self._stopping = False
        self._gt = eventlet.spawn(self._run)

    def _run(self) -> None:
        import eventlet

        while not self._stopping:
            self.digest = hashlib.sha256(self.digest).digest()
            self.rounds += 1
            eventlet.sleep(0.001)

    def stop(self) -> int:
        self._stopping = True
        self._gt.wait()
        expected = self.SEED
        for _ in range(self.rounds):
            expected = hashlib.sha256(expected).digest()
        assert self.digest == expected, "the green worker's chain is corrupt"
        return self.rounds


EQUAL = "equal"


def compared(got: object, want: object) -> object:
    """``"equal"``, or what differs between *got* and *want*.

    For results that the program itself must check (the expected value is made
    here, or is too big to print whole): the test expects ``"equal"``, and on
    a mismatch its assertion shows the difference, where a bare ``got == want``
    would only show False."""
    if got == want:
        return EQUAL
    if isinstance(got, bytes) and isinstance(want, bytes):
        at = next(
            (i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w),
            min(len(got), len(want)),
        )
        return {
            "got_length": len(got),
            "want_length": len(want),
            "first_difference_at": at,
            "got_from_there": got[at : at + 32],
            "want_from_there": want[at : at + 32],
        }
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return {
            f"item {i}": {"got": g, "want": w}
            for i, (g, w) in enumerate(zip(got, want, strict=False))
            if g != w
        }
    return {"got": got, "want": want}


def report(results: dict[str, object]) -> None:
    """Print the results as one JSON line: the test compares them.  The hub
    the program ran on is added (EVENTLET_HUB chooses it)."""
    import eventlet.hubs

    hub_module = type(eventlet.hubs.get_hub()).__module__
    results = {**results, "hub": hub_module.rsplit(".", 1)[-1]}
    # default=repr: a mismatch reported by compared() may hold bytes or other
    # values JSON has no form for; the test shows their repr.
    sys.stdout.write(json.dumps(results, sort_keys=True, default=repr) + "\n")
    sys.stdout.flush()
