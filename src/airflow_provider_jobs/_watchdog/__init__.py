"""A watchdog process per owned job: aborts the job if the task process dies without releasing it.

Airflow runs nothing when a task process alone is SIGKILLed (the OOM killer, a container memory
limit, ``kill -9``): the supervisor marks the task failed, and no ``on_kill`` or failure callback
runs (``reference/airflow3/NOTES.md`` Q12). The watchdog outlives the task process and aborts then.

* :mod:`.parent`: ``JobWatchdog.start(spec)`` / ``.release()`` (the task side);
* :mod:`.jobs`: ``watchdog_spec(hook, kind, job_id, options)`` (the task side; imports the hooks);
* :mod:`.child`: the watchdog process; :mod:`.abort`: its one call into the HTTP core;
* :mod:`.protocol`: what crosses the pipe.

This package module imports nothing, so that the watchdog process stays small.
"""
