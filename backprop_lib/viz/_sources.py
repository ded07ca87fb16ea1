"""Turn what users pass to the figure functions (a record, a list, a dict, a History) into
plain per-layer arrays. No plotting here."""

from __future__ import annotations

import numpy as np


def _record_types():
    from ..probes.records import ActivationRecord, FlowRecord, UpdateRecord  # viz reads probes

    return ActivationRecord, FlowRecord, UpdateRecord


def _is_step_pair(item) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (int, np.integer))


def flow_records(records) -> dict:
    """``{label: FlowRecord}`` from a FlowRecord, a list of them, a list of ``(step, record)``
    pairs (``history.probes["gradient_flow"]``) or a dict."""
    _, flow_cls, _ = _record_types()
    if isinstance(records, flow_cls):
        items = {records.setting: records}
    elif isinstance(records, dict):
        items = dict(records)
    elif isinstance(records, (list, tuple)) and records:
        items = {}
        for k, item in enumerate(records):
            if _is_step_pair(item):
                label, rec = f"step {item[0]}", item[1]
            else:
                label, rec = getattr(item, "setting", f"record {k}"), item
            if label in items:
                label = f"{label} (#{k + 1})"
            items[label] = rec
    else:
        raise TypeError(
            "records must be a FlowRecord (from bp.probes.gradient_flow), a list of them, or a dict "
            f"{{label: FlowRecord}}; got {type(records).__name__}"
            + (" (empty)" if isinstance(records, (list, tuple, dict)) else "") + "."
        )
    if not items:
        raise ValueError("records is empty; pass at least one FlowRecord.")
    for label, rec in items.items():
        if not isinstance(rec, flow_cls):
            raise TypeError(
                f"records[{label!r}] must be a FlowRecord (from bp.probes.gradient_flow); "
                f"got {type(rec).__name__}."
            )
    return items


def update_series(source):
    """``(steps, ratios (n_steps, n_layers), labels, kind, setting, diverged_at, message)``
    from a History, a ``history.probes`` dict, a list of ``(step, record)`` pairs or a list
    of records. ``kind`` says what the numbers are: "measured" (UpdateRecord.ratio),
    "sgd" (lr·grad/W from UpdateRecord.sgd_ratio when nothing was measured) or "flow"
    (FlowRecord.update_ratio)."""
    _, flow_cls, update_cls = _record_types()
    diverged_at, message = None, ""
    if hasattr(source, "probes") and isinstance(source.probes, dict):
        diverged_at, message = getattr(source, "diverged_at", None), getattr(source, "message", "")
        source = source.probes
    if isinstance(source, dict):
        chosen = None
        for cls in (update_cls, flow_cls):
            for entries in source.values():
                if entries and _is_step_pair(entries[0]) and isinstance(entries[0][1], cls):
                    chosen = entries
                    break
            if chosen is not None:
                break
        if chosen is None:
            raise ValueError(
                "no update ratios recorded: pass probes=[bp.probes.UpdateRatioProbe()] (or a "
                "GradientFlowProbe) to bp.train.fit, then plot its History."
            )
        source = chosen
    if isinstance(source, (update_cls, flow_cls)):
        source = [source]
    if not isinstance(source, (list, tuple)) or not source:
        raise TypeError(
            "source must be a History (from bp.train.fit with an UpdateRatioProbe), a list of "
            f"(step, record) pairs or a list of UpdateRecord/FlowRecord; got {type(source).__name__}."
        )
    pairs = [item if _is_step_pair(item) else (k, item) for k, item in enumerate(source)]
    recs = [rec for _, rec in pairs]
    if not all(isinstance(r, (update_cls, flow_cls)) for r in recs):
        bad = next(type(r).__name__ for r in recs if not isinstance(r, (update_cls, flow_cls)))
        raise TypeError(f"every record must be an UpdateRecord or a FlowRecord; got a {bad}.")
    n = recs[0].n_layers
    if any(r.n_layers != n for r in recs):
        raise ValueError("the records describe networks with different numbers of layers; "
                         "plot one run at a time.")
    steps = np.array([s for s, _ in pairs], dtype=float)
    if isinstance(recs[0], update_cls):
        ratios = np.array([r.ratio for r in recs], dtype=float)
        kind = "measured"
        if not np.any(np.isfinite(ratios)):
            ratios, kind = np.array([r.sgd_ratio for r in recs], dtype=float), "sgd"
    else:
        ratios, kind = np.array([r.update_ratio for r in recs], dtype=float), "flow"
    return steps, ratios, list(recs[-1].labels), kind, recs[-1].setting, diverged_at, message
