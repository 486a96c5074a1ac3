"""Group commit for a busy endpoint: the requests that arrive while a group is with the database wait and are
handed to the service together, as the next group, in one worker thread.

Why: a department's verification is answered in one transaction whose commit holds the quota counter and the
audit chain head (``exchange.serving.verify_many``); one transaction per request made every request wait for
the commits before it, and cost a thread hop and a transaction each. No timer is involved: a request that finds
no group running starts one at once (after one turn of the event loop, so that requests read in the same turn
join it), and a group takes at most ``limit`` requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from anyio import to_thread

In = TypeVar("In")
Out = TypeVar("Out")


class GroupCommit(Generic[In, Out]):
    """``await submit(item)``: ``run``'s answer for ``item`` (or its exception raised), ``run`` receiving the
    items of one group in arrival order and answering each, in order, with a value or an exception."""

    def __init__(self, run: Callable[[list[In]], Sequence[Out | Exception]], limit: int = 64) -> None:
        self.run, self.limit = run, limit
        self._waiting: list[tuple[In, asyncio.Future[Out | Exception]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Out | Exception] = loop.create_future()
        self._waiting.append((item, future))
        if self._task is None or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._drain())
        result = await future
        if isinstance(result, Exception):
            raise result
        return result

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(0)
            while self._waiting:
                group, self._waiting = self._waiting[:self.limit], self._waiting[self.limit:]
                try:
                    results: Sequence[Out | Exception] = await to_thread.run_sync(self.run, [i for i, _ in group])
                except Exception as exc:
                    results = [exc] * len(group)
                for (_, future), result in zip(group, results, strict=True):
                    if not future.done():  # a request whose client went away is cancelled
                        future.set_result(result)
        finally:
            self._task = None
