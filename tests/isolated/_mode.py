"""Imported first by every isolated program: applies the patching mode.

``before`` patches right here, before the program imports asyncio and
aioeventlet; ``after`` patches when the program calls :func:`after_imports`.
"""

from __future__ import annotations

import sys
import warnings

MODE = sys.argv[1]
if MODE not in ("plain", "before", "after"):
    raise SystemExit(f"unknown mode {MODE!r}: plain, before or after")


def _monkey_patch() -> None:
    # eventlet warns that it is deprecated when first imported; filter
    # exactly that warning (programs run under -W error).
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


if MODE == "before":
    _monkey_patch()


def after_imports() -> None:
    """Call once asyncio and aioeventlet are imported."""
    if MODE == "after":
        _monkey_patch()
    import eventlet.patcher

    patched = eventlet.patcher.is_monkey_patched("thread")
    assert patched == (MODE != "plain"), (MODE, patched)
