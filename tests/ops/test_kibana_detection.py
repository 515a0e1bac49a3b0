"""The Kibana dashboard of detection figures imports on its own and charts what the sink writes:
documents of the ``bbauth-events-*`` indices, fields the index template maps."""

from __future__ import annotations

import json
from typing import Any

from app.settings import REPO_ROOT, load_settings

EXPORT = REPO_ROOT / "deploy" / "kibana" / "detection.ndjson"
TEMPLATE = REPO_ROOT / "deploy" / "elasticsearch" / "index-template.json"


def _objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXPORT.read_text().splitlines()]


def _mapped(properties: dict[str, Any], prefix: str = "") -> set[str]:
    """Every field the template maps, sub-fields of objects as ``outer.inner``."""
    fields = set()
    for name, mapping in properties.items():
        fields.add(prefix + name)
        fields |= _mapped(mapping.get("properties", {}), f"{prefix}{name}.")
    return fields


def test_the_detection_dashboard_reads_the_index_pattern_the_sink_writes() -> None:
    objects = _objects()
    saved = {(o["type"], o["id"]): o for o in objects if "type" in o}
    pattern = saved[("index-pattern", "bbauth-events")]["attributes"]
    prefix = load_settings().elasticsearch_index_prefix

    assert pattern["title"] == f"{prefix}-*"
    assert json.loads(TEMPLATE.read_text())["index_patterns"] == [pattern["title"]]
    for obj in saved.values():
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in saved, f"{obj['id']} refers to a missing {ref}"
    visualizations = [o for o in saved.values() if o["type"] == "visualization"]
    assert visualizations
    for vis in visualizations:
        assert {r["type"] for r in vis["references"]} == {"index-pattern"}
    assert objects[-1]["exportedCount"] == len(saved)


def test_the_dashboard_charts_mapped_fields_of_the_detection_documents() -> None:
    saved = [o for o in _objects() if "type" in o]
    mapped = _mapped(json.loads(TEMPLATE.read_text())["template"]["mappings"]["properties"])
    charted, queries = set(), set()
    for obj in saved:
        if obj["type"] == "visualization":
            state = json.loads(obj["attributes"]["visState"])
            charted |= {a["params"]["field"] for a in state["aggs"] if "field" in a["params"]}
            search = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            queries.add(search["query"]["query"])
    [dashboard] = [o for o in saved if o["type"] == "dashboard"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])

    assert charted <= mapped
    assert {"false_challenges_per_hour", "gini", "median_seconds_to_detect", "ania", "anga"} <= (
        charted
    )
    assert queries == {"event:detection_figures", "event:detection_model"}
    assert {f"{p['panelIndex']}:{p['panelRefName']}" for p in panels} == {
        r["name"] for r in dashboard["references"]
    }
