"""Run queued jobs through a real RQ worker (SimpleWorker, burst mode) on the test Redis."""

from __future__ import annotations

import time

import pytest
from rq.registry import ScheduledJobRegistry

from app.outbox import QUEUES, get_queue
from app.workers import build_worker


class JobRunner:
    def __init__(self, app):
        self.app = app

    @property
    def redis(self):
        return self.app.extensions["redis"]

    def __call__(
        self, queues=QUEUES, *, include_scheduled: bool = False, timeout: float = 30, logging_level: str = "WARNING"
    ) -> int:
        """Work until the queues are empty; optionally move scheduled retries forward first.

        `logging_level="INFO"` keeps RQ's own lines ("high: jobs.x(…) (outbox-1)", "Job OK").
        """
        deadline = time.monotonic() + timeout
        ran = 0
        while time.monotonic() < deadline:
            if include_scheduled:
                self.release_scheduled(queues)
            if not any(len(get_queue(q, self.redis)) for q in queues):
                break
            worker = build_worker(self.app, tuple(queues), simple=True)
            worker.work(burst=True, logging_level=logging_level)
            ran += worker.performed
        return ran

    def release_scheduled(self, queues=QUEUES) -> int:
        """Enqueue jobs waiting in the scheduled registry (retry intervals) now."""
        moved = 0
        for name in queues:
            queue = get_queue(name, self.redis)
            registry = ScheduledJobRegistry(queue=queue)
            for job_id in registry.get_job_ids():
                registry.remove(job_id)
                job = queue.fetch_job(job_id)
                if job is not None:
                    queue._enqueue_job(job) if hasattr(queue, "_enqueue_job") else queue.enqueue_job(job)
                    moved += 1
        return moved

    def depth(self, queue: str = "default") -> int:
        return len(get_queue(queue, self.redis))


@pytest.fixture
def run_jobs(app):
    return JobRunner(app)
