"""Real OS threads for the loop, whether or not ``eventlet.monkey_patch()`` ran.

``eventlet.monkey_patch()`` replaces attributes *inside* the stdlib module
objects (``threading.Thread``, ``socket.socket``, ``os.read``, ...), so every
module that imported them, asyncio included, sees the green versions whatever
the import order.  For asyncio's machinery that is wrong in three places this
module fixes:

* the default executor: ``concurrent.futures.ThreadPoolExecutor`` built on a
  patched ``threading`` starts *greenthreads*, so ``asyncio.to_thread()`` of a
  really blocking call runs the calls one after the other and freezes the
  loop's OS thread meanwhile.  :class:`OSThreadPoolExecutor` always starts
  real OS threads;
* ``shutdown_default_executor()`` joins the executor from a helper thread;
  a green one would block the loop's OS thread while it joins;
* the self-pipe that ``call_soon_threadsafe()`` and signals write to, and
  ``getaddrinfo()``/``getnameinfo()`` run in the executor: both should use the
  real ``socket`` module, not green sockets and eventlet's green DNS resolver.

Where asyncio's own code is right but reads a patched module, it is reused as
is: :func:`unpatched` re-binds an asyncio function to a copy of its module's
namespace in which those module names are the unpatched modules.  No stdlib
module is modified, so a stock asyncio loop in the same process is unaffected.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import concurrent.futures
import itertools
import os
import sys
import types
import weakref
from asyncio import base_events
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import _hub
from ._crossthread import close_mailbox, run_switchable

_threading = _hub.original("threading")

_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T")

__all__ = ["OSThreadPoolExecutor", "ThreadsMixin", "unpatched", "unpatched_class"]

# The modules eventlet.monkey_patch() can patch, that asyncio's code uses.
_PATCHABLE = ("os", "select", "selectors", "socket", "subprocess", "threading", "time")
_namespaces: dict[str, dict[str, Any]] = {}


def _unpatched_namespace(module_name: str) -> dict[str, Any]:
    namespace = _namespaces.get(module_name)
    if namespace is None:
        module = sys.modules[module_name]
        namespace = dict(vars(module))
        for name in _PATCHABLE:
            if isinstance(namespace.get(name), types.ModuleType):
                namespace[name] = _hub.original(name)
        _namespaces[module_name] = namespace
        # The module's own helper functions (base_events._getaddrinfo_debug,
        # say) must see the unpatched modules too.
        for name, value in vars(module).items():
            if isinstance(value, types.FunctionType) and value.__globals__ is vars(
                module
            ):
                namespace[name] = _rebind(value, namespace)
    return namespace


def unpatched(func: _F, **names: Any) -> _F:
    """*func* (a function of the stdlib) running against unpatched modules.

    The copy shares *func*'s code, defaults and closure (so ``super()`` still
    works), but its globals are a copy of its module's namespace in which
    ``os``, ``socket``, ``threading``... are the modules as they were before
    any monkey-patching.  Taken once, at import: module-level constants of
    asyncio do not change afterwards.  *names* replace further globals of
    that copy for this function only (a class it instantiates, say).
    """
    namespace = _unpatched_namespace(func.__module__)
    return _rebind(func, {**namespace, **names} if names else namespace)


def _rebind(func: _F, namespace: dict[str, Any]) -> _F:
    copy = types.FunctionType(
        func.__code__, namespace, func.__name__, func.__defaults__, func.__closure__
    )
    copy.__kwdefaults__ = func.__kwdefaults__
    copy.__qualname__ = func.__qualname__
    copy.__doc__ = func.__doc__
    copy.__dict__.update(func.__dict__)
    return copy  # type: ignore[return-value]


def unpatched_class(cls: type[Any]) -> type[Any]:
    """A subclass of *cls* (a stdlib class) whose own methods run against
    unpatched modules, as :func:`unpatched` does for one function."""
    methods: dict[str, Any] = {
        name: unpatched(value)
        for name, value in vars(cls).items()
        if isinstance(value, types.FunctionType)
    }
    methods["__module__"] = __name__
    methods["__qualname__"] = cls.__qualname__
    return type(cls.__name__, (cls,), methods)


# -- the executor -----------------------------------------------------------------

_live_executors: weakref.WeakSet[OSThreadPoolExecutor] = weakref.WeakSet()
_counter = itertools.count()


class _WorkItem:
    __slots__ = ("args", "fn", "future", "kwargs")

    def __init__(
        self,
        future: concurrent.futures.Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            if _hub.is_patched("thread"):
                # Green waits in the function must be able to end from the
                # loop's OS thread (see _crossthread).
                result = run_switchable(self._call)
            else:
                result = self._call()
        except BaseException as exc:
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)

    def _call(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


class OSThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """A thread pool whose workers are real OS threads, even after
    ``eventlet.monkey_patch()``; aioeventlet's default executor.

    It has ``ThreadPoolExecutor``'s interface (and passes its ``isinstance``
    check, so ``loop.set_default_executor()`` accepts it on any loop) but its
    own implementation: workers, queue and locks come from the unpatched
    ``threading`` module.  A call that blocks for real (``time.sleep`` before
    patching, a C extension, a file read) blocks its worker only; a patched
    ``time.sleep`` or green socket used in a worker runs on that worker
    thread's own eventlet hub.

    The futures it returns use a real lock too: waiting for one with
    ``future.result()`` blocks the whole OS thread, as it does without
    eventlet.  From the loop, ``await loop.run_in_executor(...)`` (or
    ``asyncio.to_thread``) instead.

    Workers are daemon threads, started on demand up to *max_workers* and
    reused; ``shutdown(wait=True)`` joins them, and so does interpreter exit
    for executors not shut down.

    Under ``eventlet.monkey_patch()``, code in a worker may also wait on
    green primitives that the loop's thread releases: patched
    ``threading.Lock``/``Event``/``Condition``, ``queue.Queue``, and
    ``asyncio.run_coroutine_threadsafe(coro, loop).result()`` built on them.
    eventlet alone cannot wake a greenlet of another OS thread; each work
    item runs in a greenlet that can be woken so (see ``_crossthread``).
    Greenthreads the function spawns in its worker are ordinary ones: a
    release from another OS thread cannot wake them.  Nor can a green
    primitive released *in* a worker wake a greenthread of the loop's thread:
    eventlet queues that wake-up on the worker's own hub.  Signal the loop
    with ``loop.call_soon_threadsafe()`` instead.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        # ThreadPoolExecutor.__init__ is not called: it would build green
        # locks and queues under monkey-patching.
        if max_workers is None:
            max_workers = min(32, (os.cpu_count() or 1) + 4)
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._max_workers = max_workers
        self._thread_name_prefix = (
            thread_name_prefix or f"OSThreadPoolExecutor-{next(_counter)}"
        )
        self._init_func = initializer
        self._initargs = initargs
        self._mutex = _threading.Lock()
        self._work_ready = _threading.Condition(self._mutex)
        self._queue: collections.deque[_WorkItem] = collections.deque()
        self._workers: list[Any] = []
        # Workers waiting for work and not yet notified.
        self._waiting = 0
        self._closing = False
        self._broken_reason: str | None = None
        _live_executors.add(self)

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        with self._mutex:
            if self._broken_reason is not None:
                raise concurrent.futures.thread.BrokenThreadPool(self._broken_reason)
            if self._closing:
                raise RuntimeError("cannot schedule new futures after shutdown")
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()
            # A green Condition (monkey-patched threading) cannot be notified
            # from another OS thread: the waiter would never wake.
            future._condition = _threading.Condition()
            self._queue.append(_WorkItem(future, fn, args, kwargs))
            if self._waiting:
                self._waiting -= 1
                self._work_ready.notify()
            elif len(self._workers) < self._max_workers:
                self._start_worker()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._mutex:
            self._closing = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft().future.cancel()
            self._waiting = 0
            self._work_ready.notify_all()
            workers = list(self._workers)
        if wait:
            for worker in workers:
                if worker.ident != _threading.get_ident():
                    worker.join()

    def _start_worker(self) -> None:
        # Called with the mutex held.
        name = f"{self._thread_name_prefix}_{len(self._workers)}"
        # Unpatched, the threading module's own Thread keeps the worker known
        # to threading.current_thread() and enumerate(); patched, its Thread
        # would be a greenthread, so take the unpatched module's.
        threading = (
            _threading if _hub.is_patched("thread") else sys.modules["threading"]
        )
        worker = threading.Thread(target=self._work, name=name, daemon=True)
        worker.start()
        self._workers.append(worker)

    def _work(self) -> None:
        if self._init_func is not None:
            try:
                self._init_func(*self._initargs)
            except BaseException as exc:
                self._break(f"a thread initializer failed: {exc!r}")
                return
        while True:
            with self._mutex:
                while not self._queue and not self._closing:
                    self._waiting += 1
                    self._work_ready.wait()
                if not self._queue:
                    break
                item = self._queue.popleft()
            item.run()
            del item
        close_mailbox()

    def _break(self, reason: str) -> None:
        with self._mutex:
            self._broken_reason = reason
            pending = list(self._queue)
            self._queue.clear()
        for item in pending:
            if item.future.set_running_or_notify_cancel():
                item.future.set_exception(
                    concurrent.futures.thread.BrokenThreadPool(reason)
                )


@atexit.register
def _join_workers_at_exit() -> None:
    # Stock ThreadPoolExecutor workers are joined before the interpreter
    # finalizes; ours are daemon threads (unknown to the patched threading
    # module), so do the same here: finish the queued work, then exit.
    for executor in list(_live_executors):
        executor.shutdown(wait=True)


# -- the loop's side ----------------------------------------------------------------

_BaseEventLoop = base_events.BaseEventLoop
_SelectorEventLoop = sys.modules["asyncio.selector_events"].BaseSelectorEventLoop


_make_self_pipe = unpatched(_SelectorEventLoop._make_self_pipe)
_shutdown_default_executor = unpatched(_BaseEventLoop.shutdown_default_executor)
_getaddrinfo = unpatched(_BaseEventLoop.getaddrinfo)
_getnameinfo = unpatched(_BaseEventLoop.getnameinfo)

if TYPE_CHECKING:
    _LoopBase = asyncio.SelectorEventLoop
else:
    _LoopBase = object


class ThreadsMixin(_LoopBase):
    """EventLoop methods that must use real threads and real sockets."""

    _default_executor: concurrent.futures.Executor | None
    _executor_shutdown_called: bool

    # Each runs asyncio's own code, against the unpatched modules once
    # eventlet patched them; unpatched, exactly asyncio's (so that code that
    # mocks asyncio's modules in tests still sees its mocks).

    def _make_self_pipe(self) -> None:
        if _hub.is_patched("socket"):
            _make_self_pipe(self)
        else:
            super()._make_self_pipe()  # type: ignore[misc]

    async def shutdown_default_executor(self, *args: Any, **kwargs: Any) -> None:
        if _hub.is_patched("thread"):
            await _shutdown_default_executor(self, *args, **kwargs)
        else:
            await super().shutdown_default_executor(*args, **kwargs)

    async def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        if _hub.is_patched("socket"):
            return await _getaddrinfo(self, *args, **kwargs)
        return await super().getaddrinfo(*args, **kwargs)

    async def getnameinfo(self, *args: Any, **kwargs: Any) -> Any:
        if _hub.is_patched("socket"):
            return await _getnameinfo(self, *args, **kwargs)
        return await super().getnameinfo(*args, **kwargs)

    def run_in_executor(  # type: ignore[override]
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[..., _T],
        *args: Any,
    ) -> asyncio.Future[_T]:
        if (
            executor is None
            and self._default_executor is None
            and not self._executor_shutdown_called
            and not self.is_closed()
        ):
            # asyncio would create a ThreadPoolExecutor: green threads when
            # threading is monkey-patched.  Errors (closed loop, executor
            # shut down) are left to asyncio's own checks below.
            self._default_executor = OSThreadPoolExecutor(thread_name_prefix="asyncio")
        future: asyncio.Future[_T] = super().run_in_executor(executor, func, *args)
        return future
