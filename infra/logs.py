"""structlog configuration shared by the worker, the dev stack and the command line.

Standard-library records (the Temporal SDK, ``workflow.logger``, asyncpg) go through the same
renderer, with their ``extra`` fields (workflow and activity ids) kept as structured keys.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def _flatten_temporal(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    # The SDK puts ids under `temporal_workflow` / `temporal_activity`; lift the useful ones.
    for key in ("temporal_workflow", "temporal_activity"):
        info = event.pop(key, None)
        if isinstance(info, dict):
            for name in ("workflow_id", "run_id", "workflow_type", "activity_id", "activity_type"):
                if name in info:
                    event.setdefault(name, info[name])
    return event


def _drop_color_message(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    # uvicorn passes its message a second time, with ANSI colours, as `color_message`.
    event.pop("color_message", None)
    return event


def configure_logging(fmt: str = "console", level: str = "info") -> None:
    """Route structlog and stdlib logging to stderr as JSON lines or readable console lines."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _flatten_temporal,
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    # Workflow and activity ids travel as structured keys; not appended to every message too.
    from temporalio import activity, workflow

    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
