#!/usr/bin/env python3
"""The unsafe peer of the executor benchmark: the reference implementation's executor design.

The Absolute Zero reference validates a proposal by running a script in a process pool (pebble's, over
`multiprocessing`): the program, then `f(input)` twice compared with `!=`, then `repr` of the result; every
line but the last is `exec`-ed and the last `eval`-ed, each under a SIGALRM timer, in a namespace made for
the job, and the result must survive `str` and `pickle`. There is no sandbox: a program can change anything
in the worker process, and the next program runs in whatever state it left.

This script does the same with a `multiprocessing` pool of one process per CPU (the reference's pool has
one), on the tiny Python programs of `src/python/testdata/benchmark-programs.json` (the same HumanEval and
CRUXEval style functions as the JavaScript set), each made unique with a comment as in the JavaScript
benchmark. Jobs go to the pool one per task, as the reference's `pool.map` sends them, or in chunks.

Driven by throughput.mjs over stdin and stdout, so that its rounds alternate with the executor's in one run:
it prints `{"ready": true}` once its pool has started and warmed up, then answers each line
`{"count": N, "offset": K, "chunk": C}` with `{"perSecond": ..., "failures": ...}`, and exits at end of
input. Usage: exec_pool_peer.py PROGRAMS_JSON WORKERS TIMEOUT_SECONDS
"""

import json
import multiprocessing
import pickle
import re
import signal
import sys
import time
import traceback


class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Timeout()


def _with_timeout(seconds, action, *arguments):
    """The reference's per-call limit: a SIGALRM timer around each exec and eval (its timeout_decorator)."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return action(*arguments)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def validate(job):
    """One proposal's check as the reference makes it: the program, then `f(input)` twice compared with `!=`,
    then `repr` of the result, run as a script whose last line is evaluated and the rest executed, each under a
    timer, in a namespace that lives only for this job; the result must be printable and picklable."""
    code, args, timeout_seconds = job
    script = f"{code}\nreturns = f({args})\nif returns != f({args}):\n    raise Exception('Non-deterministic code')\nrepr(returns)"
    lines = script.split("\n")
    try:
        if re.search(r"(\s|^)?input\(", script):
            raise RuntimeError("input( is refused")
        namespace = {}
        _with_timeout(timeout_seconds, exec, "\n".join(lines[:-1]), namespace)
        result = _with_timeout(timeout_seconds, eval, lines[-1], namespace)
        str(result)
        pickle.dumps(result)
        return "Done", result
    except BaseException:
        return traceback.format_exc().split("\n")[-2], ""


def main():
    programs_path, workers, timeout_seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    with open(programs_path, encoding="utf-8") as handle:
        programs = json.load(handle)

    def jobs(count, offset):
        for index in range(count):
            program = programs[index % len(programs)]
            yield (f"{program['code']}\n# proposal {offset + index}", program["args"], timeout_seconds)

    context = multiprocessing.get_context("fork")
    with context.Pool(processes=workers) as pool:
        # Warm-up: processes started and every code path run once.
        list(pool.imap_unordered(validate, jobs(200, 10**9), chunksize=1))
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            chunk = int(request.get("chunk", 1))
            started = time.perf_counter()
            results = list(pool.imap_unordered(validate, jobs(request["count"], request["offset"]), chunksize=chunk))
            seconds = time.perf_counter() - started
            failures = sum(1 for status, _ in results if status != "Done")
            print(json.dumps({"perSecond": request["count"] / seconds, "failures": failures}), flush=True)


if __name__ == "__main__":
    main()
