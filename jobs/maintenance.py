"""Housekeeping jobs."""

import logging

log = logging.getLogger(__name__)


def ping() -> str:
    """A no-op the scheduler can run to prove the pipeline end to end."""
    log.info("ping")
    return "pong"
