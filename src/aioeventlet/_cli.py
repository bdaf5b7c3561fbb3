"""``python -m aioeventlet``: run a script, a module or a REPL on aioeventlet.

Scripts and modules run unchanged: their own ``asyncio.run()``,
``asyncio.Runner()`` and ``asyncio.new_event_loop()`` calls get an aioeventlet
loop (see :func:`aioeventlet_loops`).  Without a target, an interactive console
accepts top-level ``await`` like ``python -m asyncio``, and greenthreads keep
running between statements.

How the REPL shares one OS thread's hub with the user's greenthreads: the loop
runs in the main greenthread of the main thread, and the console reads input
in a second, real OS thread (unpatched ``threading``).  Every statement is
sent back to the loop's thread to run, so ``eventlet.spawn()`` typed at the
prompt lands on the main thread's hub.  While the console waits for a line,
the loop is idle and parked on the hub, and that is when greenthreads run.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import code
import contextlib
import importlib.util
import inspect
import os
import signal
import sys
import types
import warnings
from asyncio import events
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from . import _hub
from ._loop import EventLoop, new_event_loop

# The console's thread must be a real OS thread even after
# ``--monkey-patch``: a green one would block the hub while reading input.
_threading = _hub.original("threading")

__all__ = ["aioeventlet_loops", "build_parser", "main"]

_DESCRIPTION = """\
Run a Python script or module with every asyncio event loop it creates being an
aioeventlet loop, so that its asyncio code and eventlet greenthreads share one
process.  The script's own asyncio.run(), asyncio.Runner() and
asyncio.new_event_loop() calls get the aioeventlet loop; nothing in it needs to
change.  Without a script or module, start an interactive console where
top-level "await" works and greenthreads keep running between statements.
"""

_EPILOG = """\
examples:
  python -m aioeventlet app.py --port 8080
  python -m aioeventlet --monkey-patch -m myservice.main
  python -m aioeventlet            (REPL: try "await asyncio.sleep(1)")

In the REPL, Ctrl-C cancels the statement being awaited and Ctrl-D leaves.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``python -m aioeventlet --help`` prints its help."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="python -m aioeventlet",
        usage=(
            "%(prog)s [-h] [--version] [--monkey-patch] [--debug]\n"
            "       [script [args ...] | -m module [args ...]]"
        ),
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"aioeventlet {__version__}"
    )
    parser.add_argument(
        "--monkey-patch",
        action="store_true",
        help="call eventlet.monkey_patch() before running the target, so that "
        "blocking stdlib calls (socket, time.sleep, threading) become green",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="enable asyncio's debug mode in every loop (as PYTHONASYNCIODEBUG=1: "
        "slow callbacks, never-awaited coroutines, wrong-thread calls, and "
        "aioeventlet's watchdog for code, greenthreads included, that blocks "
        "the hub) and show ResourceWarnings",
    )
    parser.add_argument(
        "-m",
        dest="module",
        metavar="module",
        help="run a library module as a script, like python -m; the rest of the "
        "command line becomes its sys.argv[1:]",
    )
    parser.add_argument(
        "script",
        nargs="?",
        help="path of the Python script to run (or of a directory or zip file "
        "with a __main__.py, as with python); the rest of the command line "
        "becomes its sys.argv[1:]",
    )
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="arguments passed to the target"
    )
    return parser


def _split_target(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split *argv* after the target (script or ``-m module``).

    What follows the target belongs to it, options included, exactly as with
    ``python``; argparse alone would try to read ``app.py --port 1`` itself.
    """
    for i, arg in enumerate(argv):
        if arg == "-m":
            return list(argv[: i + 2]), list(argv[i + 2 :])
        if arg.startswith("-m") and not arg.startswith("--"):
            return list(argv[: i + 1]), list(argv[i + 1 :])
        if arg == "--":
            return list(argv[: i + 2]), list(argv[i + 2 :])
        if not arg.startswith("-"):
            return list(argv[: i + 1]), list(argv[i + 1 :])
    return list(argv), []


Mechanism = Literal["policy", "patch"]


@contextmanager
def aioeventlet_loops(mechanism: Mechanism | None = None) -> Iterator[None]:
    """Within this block, asyncio creates aioeventlet loops by default.

    ``asyncio.run()`` and ``asyncio.Runner()`` without a ``loop_factory`` call
    ``asyncio.events.new_event_loop()``.  Up to Python 3.13 the documented way
    to choose that loop is the event loop policy, which also keeps a policy
    the script sets itself (uvloop.install(), say) winning.  Python 3.14
    deprecates policies, so there the two module functions are replaced for
    the duration instead (``"patch"``).  Both are restored on exit.
    """
    if mechanism is None:
        mechanism = "policy" if sys.version_info < (3, 14) else "patch"
    if mechanism == "policy":
        from ._policy import EventLoopPolicy

        previous_policy = asyncio.get_event_loop_policy()
        asyncio.set_event_loop_policy(EventLoopPolicy())
        try:
            yield
        finally:
            asyncio.set_event_loop_policy(previous_policy)
        return
    saved = (events.new_event_loop, asyncio.new_event_loop)
    # setattr: the assignment is to other modules' functions on purpose.
    setattr(events, "new_event_loop", new_event_loop)  # noqa: B010
    setattr(asyncio, "new_event_loop", new_event_loop)  # noqa: B010
    try:
        yield
    finally:
        setattr(events, "new_event_loop", saved[0])  # noqa: B010
        setattr(asyncio, "new_event_loop", saved[1])  # noqa: B010


def main(argv: Sequence[str] | None = None) -> int | str | None:
    """Entry point of ``python -m aioeventlet``; returns the exit status."""
    parser = build_parser()
    head, rest = _split_target(sys.argv[1:] if argv is None else argv)
    options = parser.parse_args(head)
    if options.script is not None and not os.path.exists(options.script):
        parser.error(f"can't open file {options.script!r}: no such file")
    # Not usage errors: `python` itself reports a missing module, or a
    # directory without __main__, with status 1, and so does this drop-in.
    if options.module is not None:
        problem = _module_problem(options.module)
    elif options.script is not None:
        problem = _script_problem(options.script)
    else:
        problem = None
    if problem is not None:
        print(f"{parser.prog}: {problem}", file=sys.stderr)
        return 1

    if options.debug:
        # Read by every new loop (BaseEventLoop.__init__), and inherited by
        # child processes, as when set in the shell.
        os.environ["PYTHONASYNCIODEBUG"] = "1"
        if not sys.warnoptions:
            # Show what debug mode is about; never overrides the user's -W.
            warnings.simplefilter("default", ResourceWarning)
    if options.monkey_patch:
        # eventlet.patcher was loaded by _hub, the one module that imports
        # eventlet; take it from there rather than import eventlet here.
        sys.modules["eventlet.patcher"].monkey_patch()

    with aioeventlet_loops():
        if options.module is not None:
            _run_module(options.module, rest)
        elif options.script is not None:
            _run_script(options.script, rest)
        else:
            return _repl()
    return None


def _module_problem(name: str) -> str | None:
    """Why ``-m name`` cannot run, in `python -m`'s words, or None."""
    if name.startswith("."):
        return "Relative module names not supported"
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        problem = (
            f"Error while finding module specification for {name!r} "
            f"({type(exc).__name__}: {exc})"
        )
        if name.endswith(".py"):
            # The usual slip: a file name where a module name belongs.
            problem += (
                f". Try using {name[:-3]!r} instead of {name!r} as the module name."
            )
        return problem
    if spec is None:
        return f"No module named {name}"
    if spec.submodule_search_locations is not None:
        main = f"{name}.__main__"
        if importlib.util.find_spec(main) is None:
            return (
                f"No module named {main}; {name!r} is a package and cannot be "
                f"directly executed"
            )
    return None


def _runs_its_main(path: str) -> bool:
    """Whether *path* is a directory or zip file, which runs as its
    ``__main__`` module (as with ``python dir/``), rather than a script."""
    import zipfile

    return os.path.isdir(path) or zipfile.is_zipfile(path)


def _script_problem(path: str) -> str | None:
    """Why the existing *path* cannot run, in `python`'s words, or None."""
    if not _runs_its_main(path):
        return None
    import pkgutil

    finder = pkgutil.get_importer(path)
    if finder is None or finder.find_spec("__main__") is None:
        return f"can't find '__main__' module in {path!r}"
    return None


def _run_script(path: str, args: list[str]) -> None:
    import runpy

    sys.argv[:] = [path, *args]
    # As `python app.py` does: imports resolve next to the script, or inside
    # a directory or zip file run as a whole.
    if _runs_its_main(path):
        sys.path[0] = os.path.abspath(path)
    else:
        sys.path[0] = os.path.dirname(os.path.abspath(path))
    runpy.run_path(path, run_name="__main__")


def _run_module(name: str, args: list[str]) -> None:
    import runpy

    # runpy replaces "-m" with the module's file, as `python -m` does.
    sys.argv[:] = ["-m", *args]
    runpy.run_module(name, run_name="__main__", alter_sys=True)


# -- the REPL -------------------------------------------------------------------


class _Console(code.InteractiveConsole):
    """Reads and compiles in the console thread; runs code in the loop's."""

    def __init__(self, namespace: dict[str, Any], loop: EventLoop) -> None:
        super().__init__(namespace, filename="<stdin>")
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.loop = loop
        # Touched in the loop's thread only.
        self._task: asyncio.Task[Any] | None = None
        self._interrupted = False

    def interrupt(self) -> None:
        """SIGINT handler, run by the loop: cancel the statement being awaited."""
        if self._task is not None and not self._task.done():
            self._interrupted = True
            self._task.cancel()

    def runcode(self, code: types.CodeType) -> None:
        done = _threading.Event()
        outcome: list[BaseException | None] = []

        def finish(exc: BaseException | None) -> None:
            self._task = None
            outcome.append(exc)
            done.set()

        def on_task_done(task: asyncio.Task[Any]) -> None:
            if task.cancelled():
                finish(asyncio.CancelledError())
            else:
                finish(task.exception())

        def start() -> None:
            # In the loop's greenthread.  Compiled with top-level await, the
            # statement returns a coroutine when it awaits something.
            self._interrupted = False
            try:
                result = types.FunctionType(code, self.locals)()
            except BaseException as exc:  # handed to the console thread
                finish(exc)
                return
            if inspect.iscoroutine(result):
                self._task = self.loop.create_task(result)
                self._task.add_done_callback(on_task_done)
            else:
                finish(None)

        self.loop.call_soon_threadsafe(start)
        done.wait()
        exc = outcome[0]
        if exc is None:
            return
        if isinstance(exc, SystemExit):
            raise exc
        if isinstance(exc, asyncio.CancelledError) and self._interrupted:
            self.write("\nKeyboardInterrupt\n")
            return
        self._show(exc)

    def _show(self, exc: BaseException) -> None:
        # Start the traceback at the user's code, skipping the frames of the
        # callback and of the task that ran it.
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != self.filename:
            tb = tb.tb_next
        sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
        import traceback

        self.write("".join(traceback.format_exception(type(exc), exc, tb)))


def _repl() -> int | str | None:
    import aioeventlet

    loop = new_event_loop()
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__builtins__": __builtins__,
        "asyncio": asyncio,
        "aioeventlet": aioeventlet,
    }
    console = _Console(namespace, loop)
    # Only the main thread may handle signals: elsewhere Ctrl-C stays Python's.
    with contextlib.suppress(RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, console.interrupt)
    status: list[int | str | None] = []

    def read_eval_print() -> None:
        if sys.stdin.isatty():  # pragma: no cover - tests drive a pipe
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history)
        banner = (
            f"aioeventlet REPL {aioeventlet.__version__}, Python {sys.version} "
            f"on {sys.platform}\n"
            f'Use "await" directly instead of "asyncio.run()"; greenthreads run '
            f"while you type.\n"
            f"asyncio and aioeventlet are imported."
        )
        try:
            console.interact(banner=banner, exitmsg="exiting aioeventlet REPL...")
        except SystemExit as exc:
            status.append(exc.code)
        finally:
            loop.call_soon_threadsafe(loop.stop)

    thread = _threading.Thread(
        target=read_eval_print, name="aioeventlet-repl", daemon=True
    )
    thread.start()
    try:
        loop.run_forever()
        # The console thread stopped the loop on its way out.
        thread.join()
    finally:
        # The last statement may have left tasks; end them as asyncio.run does.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    return status[0] if status else None
