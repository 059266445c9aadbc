"""The paper items of items.yaml at one scale: status, files, reason, manifest entry (rules/items.smk, manifest)."""

from __future__ import annotations

BUILT, NOT_BUILT, NOT_EVALUABLE = "built", "not yet built", "not evaluable"
# The reason of an item that items.yaml gives no outputs (and no partial note): no rule builds it.
NOT_IMPLEMENTED = "its analysis is not implemented in this workflow (items.yaml lists no outputs for it)"


class ItemRegistry:
    """items.yaml's `items` mapping seen from one scale; file paths are under `results` (results/<scale>)."""

    def __init__(self, items: dict, scale: str, results: str):
        self.items, self.scale, self.results = items, scale, str(results)

    def status(self, item_id: str) -> str:
        """'built', 'not evaluable' or 'not yet built' at this scale."""
        item = self.items[item_id]
        if self.scale in item.get("not_evaluable", {}):
            return NOT_EVALUABLE
        return BUILT if item.get("outputs") else NOT_BUILT

    def files(self, item_id: str) -> list[str]:
        """Files of an item at this scale: all of them once built, else the panels built so far (if any)."""
        item, status = self.items[item_id], self.status(item_id)
        if status == NOT_EVALUABLE:
            return []
        files = item["outputs"] if status == BUILT else item.get("partial", {}).get("outputs", [])
        return [f"{self.results}/{f}" for f in files]

    def reason(self, item_id: str) -> str:
        """Why an item is not (wholly) built at this scale ("" once it is)."""
        item, status = self.items[item_id], self.status(item_id)
        if status == NOT_EVALUABLE:
            return item["not_evaluable"][self.scale]
        if status == NOT_BUILT:
            return item.get("partial", {}).get("note", NOT_IMPLEMENTED)
        return item.get("panels_not_evaluable", {}).get(self.scale, "")  # built, but some panels cannot run here

    def entry(self, item_id: str) -> dict:
        """An item's manifest entry at this scale: status, reason, files and the rule that writes them."""
        item = self.items[item_id]
        source = item if self.status(item_id) == BUILT else item.get("partial", {})
        return {"status": self.status(item_id), "reason": self.reason(item_id), "files": self.files(item_id),
                "rule": source.get("rule", "")}

    def built_files(self, kind: str | None = None, paper: str | None = None) -> list[str]:
        """Files of every item built (or partly built) at this scale, optionally of one kind (figure, table) or paper."""
        return [f for i, item in self.items.items()
                if (kind is None or item["kind"] == kind) and (paper is None or item["paper"] == paper)
                for f in self.files(i)]
