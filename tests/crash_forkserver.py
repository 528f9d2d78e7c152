"""A fork server for the kill trials of ``test_crash_safety.py``: imports lifeseeker's CLI and its heavy libraries
(torch, open_clip, sentence-transformers, lancedb) once, then runs each requested ``lifeseeker`` command in a
freshly forked child, so a trial pays for the ingest, not for 20 s of imports. Nothing model-related runs before
the fork (no model is loaded, no OpenMP thread team exists), so the children are as clean as new processes.

Protocol (one JSON object per line): stdin ``{"args": [...], "env": {...}, "log": path}`` -> stdout
``{"pid": child pid}`` at once, then ``{"pid": ..., "status": os.waitpid status}`` when that child ends; stdin
``{"wait": pid}`` is not needed (every child is reaped and reported). EOF on stdin: wait for children, exit.
"""

from __future__ import annotations

import json
import os
import sys
import threading


def main() -> None:
    import lifeseeker.cli as cli_module  # noqa: F401 - the imports are the point
    import lancedb  # noqa: F401
    import open_clip  # noqa: F401
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401

    out_lock = threading.Lock()

    def say(obj: dict) -> None:
        with out_lock:
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()

    def reap(pid: int) -> None:
        _, status = os.waitpid(pid, 0)
        say({"pid": pid, "status": status})

    say({"ready": True})
    waiters = []
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:  # child: run the command, never return into the server loop
            code = 1
            try:
                fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.environ.update(req.get("env", {}))
                try:
                    cli_module.cli.main(args=req["args"], prog_name="lifeseeker", standalone_mode=True)
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:  # noqa: BLE001 - report anything in the child's log
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        say({"pid": pid})
        t = threading.Thread(target=reap, args=(pid,), daemon=True)
        t.start()
        waiters.append(t)
    for t in waiters:
        t.join()


if __name__ == "__main__":
    main()
