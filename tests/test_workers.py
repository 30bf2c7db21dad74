import threading
import time

from simgui.core.indexing.workers import BoundedWorkerPool, TimeoutResult


def work(item):
    if item == "slow":
        time.sleep(3)  # a decoder stuck in C code, as far as the pool can tell
    if item == "broken":
        raise ValueError("bad input")
    return item.upper()


def test_slow_task_times_out_and_the_run_goes_on():
    pool = BoundedWorkerPool(work, threads=2, time_limit=0.5)
    started = time.monotonic()
    results = dict(pool.map_unordered(["a", "slow", "b", "broken", "c"]))
    pool.close()
    assert time.monotonic() - started < 2.5  # did not wait for the stuck one
    assert isinstance(results["slow"], TimeoutResult)
    assert isinstance(results["broken"], ValueError)
    assert [results[k] for k in "abc"] == ["A", "B", "C"]


def test_cancel_drops_queued_work():
    cancel = threading.Event()
    pool = BoundedWorkerPool(lambda i: time.sleep(0.05) or i, threads=1, time_limit=10)
    seen = []
    for item, _ in pool.map_unordered(list(range(100)), cancel):
        seen.append(item)
        if len(seen) == 3:
            cancel.set()
    pool.close()
    assert len(seen) < 10
