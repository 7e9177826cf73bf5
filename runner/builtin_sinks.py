"""pdrun's built-in sinks, registered through the same hook as a third-party plugin's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner import hookimpl
from runner import log as pdlog
from runner.params import Param
from runner.results import SEVERITIES, RunResult
from runner.sinks import Sink, SinkContext, SinkError

WEBHOOK_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def headline(result: RunResult) -> str:
    """One line saying what a run found, for alert summaries and chat messages."""
    summary = result.summary
    counts = f"{len(result.findings)} findings"
    if summary:
        counts += f" ({summary['new']} new, {summary['resolved']} resolved)"
    return f"pdrun {result.recipe}: {result.status}, {counts}"


def deliver_log(result: RunResult, options: Mapping[str, Any], context: SinkContext) -> None:
    """Log one structured line per finding, and one per finding resolved since the last run."""
    import structlog

    log = structlog.get_logger()
    for finding in (*result.findings, *result.resolved):
        log.info(
            "finding",
            fingerprint=finding.fingerprint,
            state=finding.state,
            rule=finding.rule,
            severity=finding.severity,
            object_type=finding.object.type,
            object_id=finding.object.id,
            object_name=finding.object.summary,
            message=finding.message,
        )


def dedup_key(result: RunResult) -> str:
    """The one alert per recipe (with its parameters) and account: stable across runs."""
    return f"pdrun/{result.recipe}/{result.key}"


def deliver_events(result: RunResult, options: Mapping[str, Any], context: SinkContext) -> None:
    """Trigger an alert while a recipe has findings; resolve it when a run comes back clean."""
    variable = options["routing_key_env"]
    routing_key = context.environ.get(variable, "").strip()
    if not routing_key:
        raise SinkError(f"events sink: set the environment variable {variable} to an Events API v2 routing key")
    key = dedup_key(result)
    if result.status == "ok":
        context.session.send_event(routing_key, "resolve", dedup_key=key)
    elif result.status == "findings":
        worst = max((f.severity for f in result.findings), key=SEVERITIES.index)
        details = {
            "run_id": result.run_id,
            "findings": len(result.findings),
            **(result.summary or {}),
            "objects": [f"{f.object.type} {f.object.id} {f.object.summary}" for f in result.findings[:50]],
        }
        payload = {
            "summary": headline(result)[:1024],
            "source": "pdrun",
            "severity": worst,
            "component": result.recipe,
            "custom_details": details,
        }
        context.session.send_event(routing_key, "trigger", dedup_key=key, payload=payload)


def deliver_webhook(result: RunResult, options: Mapping[str, Any], context: SinkContext) -> None:
    """POST the result as JSON (with a `text` line, as chat webhooks expect); retry what is safe to."""
    import httpx2

    from runner.transport import backoff

    url = options["url"]
    pdlog.add_secret(url)  # chat webhook URLs embed their credential
    body = {"text": headline(result), "result": result.to_dict()}
    attempts = options["retries"] + 1
    for attempt in range(attempts):
        try:
            response = httpx2.post(url, json=body, timeout=options["timeout"])
        except httpx2.TransportError as exc:
            error = type(exc).__name__
        else:
            if response.status_code < 300:
                return
            error = f"HTTP {response.status_code}"
            if response.status_code not in WEBHOOK_RETRY_STATUSES:
                break
        if attempt + 1 < attempts:
            context.sleep(backoff(attempt))
    raise SinkError(f"webhook sink: delivery failed after {attempt + 1} attempts ({error})")


BUILTIN_SINKS = (
    Sink(name="log", summary="One structured log line per finding.", deliver=deliver_log),
    Sink(
        name="events",
        summary="One PagerDuty alert per recipe: triggered while findings exist, resolved when clean.",
        deliver=deliver_events,
        options=(
            Param(
                name="routing_key_env",
                default="PDRUN_EVENTS_ROUTING_KEY",
                help="Environment variable holding the Events API v2 routing key.",
            ),
        ),
    ),
    Sink(
        name="webhook",
        summary="A JSON POST of the result to a URL (e.g. a Slack incoming webhook), with retries.",
        deliver=deliver_webhook,
        options=(
            Param(name="url", required=True, help="Where to POST."),
            Param(name="retries", type=int, default=3, minimum=0, maximum=20,
                  help="Retries on 429, 5xx and network errors."),
            Param(name="timeout", type=float, default=10.0, minimum=0.1, maximum=600, help="Seconds per attempt."),
        ),
    ),
)


@hookimpl
def pdrun_sinks(register):
    for sink in BUILTIN_SINKS:
        register(sink)
