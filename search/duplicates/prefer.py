"""The keeper rule as this library applies it: reference folders, the user's preferences
(VITRIEVE_KEEPER_PREFER), then the built-in rules of keeper.py (docs/DUPLICATES.md, Keeper
rules).

Preferences are tried in the order given, before the built-in rules; the first one that tells
the keeper from the runner-up is named in the keeper reason ("preferred format RAW (your
preference `raw`)"), so a user can always see which rule chose. Without preferences the order
and the reasons are exactly keeper.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic_core import PydanticCustomError

from vitrieve.core.config import (
    CAMERA_RAW_EXTENSIONS,
    KEEPER_PREFERENCES,
    Settings,
    keeper_preferences,
)
from vitrieve.core.errors import VitrieveError
from vitrieve.search.duplicates.keeper import (
    KEEPER_RULES,
    ImageFacts,
    camera_exif,
    keeper_rank,
    keeper_reason,
)

_FORMATS: dict[str, tuple[frozenset[str], frozenset[str]]] = {  # formats, extensions
    "heic": (frozenset({"HEIF", "HEIC", "AVIF"}), frozenset({".heic", ".heif", ".hif"})),
    "jpeg": (frozenset({"JPEG", "MPO"}), frozenset({".jpg", ".jpeg", ".jpe"})),
    "png": (frozenset({"PNG"}), frozenset({".png"})),
}


@dataclass(frozen=True, slots=True)
class Preference:
    rule: str  # as the user wrote it (normalised): "raw", "folder:/photos/originals"
    key: Callable[[ImageFacts], Any]  # lower sorts first
    words: Callable[[ImageFacts, ImageFacts], str]  # why the keeper beat the runner-up

    def reason(self, keeper: ImageFacts, runner_up: ImageFacts) -> str:
        return f"{self.words(keeper, runner_up)} (your preference '{self.rule}')"


def _suffix(f: ImageFacts) -> str:
    return Path(f.image.rel_path).suffix.lower()


def _is_raw(f: ImageFacts) -> bool:
    return _suffix(f) in CAMERA_RAW_EXTENSIONS  # every extension LibRaw reads


def _format_rule(name: str) -> Preference:
    formats, extensions = _FORMATS[name]

    def key(f: ImageFacts) -> bool:
        return not ((f.format or "").upper() in formats or _suffix(f) in extensions)

    return Preference(name, key, lambda k, r: f"preferred format {name.upper()}")


def _folder_rule(rule: str) -> Preference:
    folder = Path(rule.partition(":")[2])

    def key(f: ImageFacts) -> bool:
        return folder not in Path(f.path).parents

    return Preference(rule, key, lambda k, r: f"preferred folder {folder}")


def _taken(f: ImageFacts) -> datetime:
    return f.image.taken


def _dates(k: ImageFacts, r: ImageFacts) -> str:
    return f"{_taken(k):%Y-%m-%d %H:%M} vs {_taken(r):%Y-%m-%d %H:%M}"


def _built(name: str) -> Preference:
    if name == "raw":
        return Preference(name, lambda f: not _is_raw(f), lambda k, r: "preferred format RAW")
    if name in _FORMATS:
        return _format_rule(name)
    if name == "camera":
        return Preference(name, lambda f: -camera_exif(f), lambda k, r: "has the camera's EXIF")
    if name == "resolution":
        return Preference(
            name,
            lambda f: -f.pixels,
            lambda k, r: f"highest resolution ({k.width}x{k.height} vs {r.width}x{r.height})",
        )
    if name == "largest":
        return Preference(
            name, lambda f: -f.size, lambda k, r: f"largest file ({k.size:,} vs {r.size:,} bytes)"
        )
    if name == "oldest":
        return Preference(name, _taken, lambda k, r: f"oldest photo ({_dates(k, r)})")
    if name == "newest":
        return Preference(
            name,
            lambda f: -_taken(f).timestamp(),
            lambda k, r: f"newest photo ({_dates(k, r)})",
        )
    return _folder_rule(name)


assert all(_built(n).rule == n for n in KEEPER_PREFERENCES)  # every setting name has a rule


def preferences(value: str) -> tuple[Preference, ...]:
    """The rules of a VITRIEVE_KEEPER_PREFER value (checked as Settings checks it; a bad rule
    is a VitrieveError naming it, for a value typed in the UI)."""
    try:
        rules = keeper_preferences(value)
    except PydanticCustomError as exc:
        raise VitrieveError(f"keeper preferences {value!r}: {exc.message()}") from None
    return tuple(_built(rule) for rule in rules)


@dataclass(frozen=True)
class KeeperRule:
    """Orders members and words the keeper's reason: preferences first, then keeper.py.

    ``reference``: image id -> reference folder, for the images in one (reference.py); they
    are passed to the grouping as keepers too, this only words why."""

    prefer: tuple[Preference, ...] = ()
    reference: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings, reference: Mapping[int, str] | None = None) -> KeeperRule:
        return cls(preferences(settings.keeper_prefer), reference or {})

    def with_reference(self, reference: Mapping[int, str]) -> KeeperRule:
        return KeeperRule(self.prefer, reference)

    def rank(self, f: ImageFacts) -> tuple:
        return tuple(p.key(f) for p in self.prefer) + keeper_rank(f)

    def reason(
        self, best: ImageFacts, members: Sequence[ImageFacts], chosen: Collection[int] = ()
    ) -> str:
        """Why ``best`` is kept; ``chosen``: the members that are keepers by decision (the
        user's or a reference folder), best among them."""
        refs = [m for m in members if m.image_id in self.reference]
        if best.image_id in self.reference:
            if len(refs) > 1:
                return (
                    f"{len(refs)} images in reference folders duplicate each other: all are kept"
                    f" ({', '.join(sorted({self.reference[m.image_id] for m in refs}))})"
                )
            return f"in the reference folder {self.reference[best.image_id]} (always kept)"
        if best.image_id in chosen:
            return keeper_reason(best, members, chosen=True)
        rivals = [m for m in members if m.image_id != best.image_id]
        if not rivals:
            return ""
        runner_up = min(rivals, key=self.rank)
        for p in self.prefer:
            if p.key(best) != p.key(runner_up):
                return p.reason(best, runner_up)
        for key, words in KEEPER_RULES:  # keeper_reason's loop, against this runner-up
            if key(best) != key(runner_up):
                return words(best, runner_up)
        return KEEPER_RULES[-1][1](best, runner_up)


DEFAULT_RULE = KeeperRule()
