"""The ``quality`` command's answer: the latest data-quality result of each suite on one dataset version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nblineage.governance.answers import Answer
from nblineage.governance.quality import QualityResult, results_for
from nblineage.governance.read import Reader

if TYPE_CHECKING:
    from nblineage.lineage.graph import DatasetRef


@dataclass(frozen=True)
class DatasetQuality(Answer):
    """A dataset version (its newest when none was named) and the latest result of each suite on it."""

    namespace: str
    name: str
    version: str | None
    quality: tuple[QualityResult, ...] = ()

    @property
    def success(self) -> bool | None:
        """True when every latest result passed, False when one failed, None without results."""
        return None if not self.quality else all(result.success for result in self.quality)


def dataset_quality(store: Any, ref: DatasetRef) -> DatasetQuality:
    """The latest results on ``ref`` (at its newest known version when ``ref`` names none)."""
    with store.read() as conn:
        reader = Reader(conn)
        version = ref.version
        if version is None:
            found = reader.dataset(ref.namespace, ref.name)
            row = reader.version(found[0], None) if found is not None else None
            version = row.version or None if row is not None else None
        key = (ref.namespace, ref.name, version)
        return DatasetQuality(ref.namespace, ref.name, version, tuple(results_for(reader, [key])[key]))
