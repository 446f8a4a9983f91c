"""The job queue: jobs declared by plugins, enqueued after commit, on SQLite,
Redis or in memory."""

import socket

import pytest

from kernel import declarations as d
from kernel import hookimpl, jobs
from kernel.errors import ValidationFailed
from kernel.services.uow import unit_of_work
from kernel.testing import build_app

DONE: list = []


class JobsPlugin:
    @hookimpl
    def hookdesk_register_jobs(self):
        return [d.JobDecl("probe.record", lambda value: DONE.append(value), retries=2,
                          retry_delay=1)]


@pytest.fixture
def jobs_app(tmp_path, request):
    DONE.clear()
    url = getattr(request, "param", "memory://")
    if url == "sqlite":
        url = f"sqlite:///{tmp_path}/queue.db"
    app = build_app(tmp_path, ("helpdesk", "probe"), {"HOOKDESK_QUEUE_URL": url},
                    plugin_objects={"probe": JobsPlugin()})
    with app.app_context():
        yield app


def test_enqueue_waits_for_commit(jobs_app):
    with unit_of_work():
        jobs.enqueue("probe.record", value=1)
        assert DONE == []
    assert DONE == [1]


def test_enqueue_dropped_on_rollback(jobs_app):
    with pytest.raises(RuntimeError), unit_of_work():
        jobs.enqueue("probe.record", value=2)
        raise RuntimeError("boom")
    assert DONE == []


def test_unknown_job_is_refused(jobs_app):
    with pytest.raises(ValidationFailed) as failed:
        jobs.enqueue("probe.nope")
    assert "job" in failed.value.errors


def _drain(queue):
    ran = 0
    while (task := queue.dequeue()) is not None:
        queue.execute(task)
        ran += 1
    return ran


@pytest.mark.parametrize("jobs_app", ["sqlite"], indirect=True)
def test_sqlite_queue_survives_until_a_worker_runs_it(jobs_app):
    jobs.enqueue("probe.record", value=3)
    assert DONE == []  # stored, not run: a worker process runs it
    assert len(jobs.queue()) == 1
    assert _drain(jobs.queue()) == 1
    assert DONE == [3]


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")
@pytest.mark.parametrize("jobs_app", ["redis://127.0.0.1:6379/15"], indirect=True)
def test_redis_queue(jobs_app):
    jobs.queue().flush()
    jobs.enqueue("probe.record", value=4)
    assert _drain(jobs.queue()) == 1
    assert DONE == [4]
