"""Where reader files are: one packaged per built-in codebook version, a study's own beside its file."""

from __future__ import annotations

from pathlib import Path

from sibkit.coding.codebook import Codebook
from sibkit.errors import SibkitError
from sibkit.secondreader.model import LearnedReader

PACKAGED_DIR = Path(__file__).parent / "readers"
SUFFIX = ".reader"
PACKAGED = "packaged"


def packaged_path(codebook: Codebook) -> Path:
    """The reader shipped for this codebook's name and version (it may not exist)."""
    return PACKAGED_DIR / f"{codebook.name}-{codebook.version}{SUFFIX}"


def study_reader_path(study: object) -> Path:
    """A study's own reader, trained on its decisions: ``<study file stem>.reader`` beside the study file."""
    path: Path = study.path  # type: ignore[attr-defined]
    return path.with_name(path.stem + SUFFIX)


def staleness(reader: LearnedReader, codebook: Codebook) -> str | None:
    """A warning when the reader was trained on other keyword hits: the codebook's terms, skip contexts or
    themes have changed since (an edited description, changelog or version number leaves it fresh; a
    reader file from before ``matching_hash`` was recorded must match the whole codebook)."""
    if "matching_hash" in reader.meta:
        if reader.meta["matching_hash"] == codebook.matching_hash():
            return None
    elif reader.meta.get("codebook_hash") == codebook.hash():
        return None
    trained = reader.meta.get("codebook", "another codebook")
    return (f"the learned reader was trained with {trained}, not with {codebook.name} {codebook.version} as it is "
            "now: its sense heads learned from other keyword hits; train it again (`sibkit codebook train`)")


def load_named(spec: str, codebook: Codebook, base: Path | None = None) -> LearnedReader:
    """``packaged`` (the reader shipped for ``codebook``) or a reader file's path."""
    if spec == PACKAGED:
        path = packaged_path(codebook)
        if not path.exists():
            raise SibkitError(f"no learned reader is packaged for {codebook.name} {codebook.version}; train one with "
                              f"`sibkit codebook train {codebook.name} LABELLED.csv`")
        return LearnedReader.load(path)
    path = Path(spec).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return LearnedReader.load(path)


def reader_for_study(study: object, codebook: Codebook) -> tuple[LearnedReader | None, str]:
    """The reader the study's ``reader.model`` names (``auto``: its own, else the packaged one, else none)
    and where it came from, in words."""
    spec: str = study.reader.model  # type: ignore[attr-defined]
    if spec == "none":
        return None, "no learned reader (reader.model: none)"
    if spec != "auto":
        reader = load_named(spec, codebook, study.base_dir)  # type: ignore[attr-defined]
        return reader, f"the reader file {spec}"
    own = study_reader_path(study)
    if own.exists():
        return LearnedReader.load(own), f"the study's own reader {own.name}"
    packaged = packaged_path(codebook)
    if packaged.exists():
        return LearnedReader.load(packaged), f"the reader packaged for {codebook.name} {codebook.version}"
    return None, f"no learned reader (none is packaged for {codebook.name} {codebook.version}; train one)"
