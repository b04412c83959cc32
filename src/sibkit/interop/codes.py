"""Codes and themes: the documented form in which a theme travels in a code's description, nesting,
and the codebook exchange file (``.qdc``, namespace ``urn:QDA-XML:codebook:1.0``).

A code's ``Description`` is the theme's definition, then (when the theme has anything more) a line
``--- sibkit theme ---`` followed by YAML with the rest of the theme: its ``id``, ``terms`` (plain
strings, or mappings with options), ``skip_contexts``, ``examples``, ``counter_examples`` and any
other field of :class:`sibkit.coding.codebook.Theme`. Another tool shows it as text and keeps it;
``sibkit import qdc`` and ``sibkit import qdpx`` read it back into a working codebook.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from lxml import etree
from pydantic import ValidationError

from sibkit import __version__
from sibkit.coding.codebook import Codebook, Theme, ThemeGroup
from sibkit.errors import SibkitError
from sibkit.interop.guids import guid_key, is_guid, stable_guid
from sibkit.interop.xmlsafe import CODEBOOK_NS, child_text, children, local, parse_xml
from sibkit.yamlfile import load_yaml

MARKER = "--- sibkit theme ---"
_ORIGIN = re.compile(r"\(codebook (?P<name>.+?) version (?P<version>[^)]*)\)")


def theme_guid(theme_id: str) -> str:
    return stable_guid("theme", theme_id)


def describe_theme(theme: Theme) -> str:
    """The text of a code's Description for a theme (definition, then the sibkit block when needed)."""
    rest = theme.model_dump(mode="json", exclude={"name", "definition", "parent", "guid", "color"},
                            exclude_defaults=True)
    rest["id"] = theme.id
    if "terms" in rest:
        rest["terms"] = [term["term"] if set(term) == {"term"} else term for term in rest["terms"]]
    ordered = {"id": rest.pop("id"), **rest}
    block = yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False, width=1000)
    if yaml.safe_load(block) != ordered:  # a character YAML reads as a line break (NEL, LS, PS): escape them
        block = yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False, width=1000, default_style='"')
    block = block.rstrip("\n")
    definition = theme.definition.strip()
    return (f"{definition}\n\n" if definition else "") + f"{MARKER}\n{block}"


def read_description(description: str) -> tuple[str, dict[str, object] | None, str | None]:
    """(definition, the sibkit block as a mapping or None, a problem with the block or None)."""
    text = description.replace("\r\n", "\n")
    if MARKER not in text:
        return text.strip(), None, None
    definition, _, block = text.partition(MARKER)
    try:  # the project comes from elsewhere: repeated keys and alias bombs refused (sibkit.yamlfile)
        data = load_yaml(block, "the sibkit block")
    except SibkitError as exc:
        return definition.strip(), None, str(exc)
    if not isinstance(data, dict):
        return definition.strip(), None, "the sibkit block is not a mapping"
    return definition.strip(), data, None


def rgb(color: str | None) -> str | None:
    """A colour as ``#RRGGBB`` (QualCoder reads no other form), or None when it is not one."""
    text = (color or "").strip()
    if re.fullmatch(r"#[0-9A-Fa-f]{3}", text):
        text = "#" + "".join(2 * c for c in text[1:])
    return text.upper() if re.fullmatch(r"#[0-9A-Fa-f]{6}", text) else None


def slug(name: str, fallback: str) -> str:
    """A theme id from a code name (lower-case ASCII letters, digits and '-')."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    return text or fallback


@dataclass
class ParsedCode:
    guid: str
    name: str
    codable: bool
    description: str = ""
    color: str | None = None
    parent_guid: str | None = None
    line: int | None = None


def parse_codes(codes_element: etree._Element, source: str, problems: list[str]) -> list[ParsedCode]:
    """Every code of a ``Codes`` element, depth first, with its parent (codes nest in codes)."""
    found: list[ParsedCode] = []
    seen: set[str] = set()

    def walk(element: etree._Element, parent: str | None) -> None:
        for code in children(element, "Code"):
            guid = (code.get("guid") or "").strip()
            name = code.get("name") or ""
            if not is_guid(guid):
                problems.append(f"{source}: line {code.sourceline}: Code {name!r} has no valid guid; skipped")
                continue
            if guid_key(guid) in seen:  # a second code with one GUID would clash with the first when stored
                problems.append(f"{source}: line {code.sourceline}: Code {name!r}: guid {guid} is used by an "
                                "earlier Code; skipped")
                walk(code, parent)  # its codes keep their place under its parent
                continue
            seen.add(guid_key(guid))
            codable = (code.get("isCodable") or "true").strip().lower() in ("true", "1")
            found.append(ParsedCode(guid, name, codable, child_text(code, "Description"), code.get("color"),
                                    parent, code.sourceline))
            walk(code, guid)

    walk(codes_element, None)
    return found


def themes_from_codes(codes: list[ParsedCode], source: str, problems: list[str],
                      known: dict[str, str] | None = None, taken: set[str] | None = None) -> dict[str, Theme]:
    """One theme per code, keyed by the code's GUID key. ``known`` maps GUID keys to theme ids decided
    before (a code imported earlier); ``taken`` holds theme ids already used by other themes.

    ATLAS.ti writes code groups as flat names ``Parent::Child``: the part before ``::`` becomes the
    parent when a code of that name exists."""
    known = known or {}
    used = set(taken or set())
    by_name = {code.name: code for code in codes}
    ids: dict[str, str] = {}
    blocks: dict[str, tuple[str, dict[str, object] | None]] = {}
    for code in codes:
        key = guid_key(code.guid)
        definition, block, problem = read_description(code.description)
        if problem:
            problems.append(f"{source}: line {code.line}: Code {code.name!r}: {problem}; imported without terms")
        blocks[key] = (definition, block)
        wanted = known.get(key)
        if wanted is None and block and isinstance(block.get("id"), str):
            wanted = str(block["id"])
        if wanted is None or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", wanted):
            wanted = slug(code.name, "code-" + key[:8])
        candidate, number = wanted, 2
        while candidate in used and known.get(key) != candidate:
            candidate, number = f"{wanted}-{number}", number + 1
        used.add(candidate)
        ids[key] = candidate
    themes: dict[str, Theme] = {}
    for code in codes:
        key = guid_key(code.guid)
        definition, block = blocks[key]
        parent_guid = code.parent_guid
        if parent_guid is None and "::" in code.name:
            parent_code = by_name.get(code.name.rsplit("::", 1)[0])
            parent_guid = parent_code.guid if parent_code is not None else None
        parent = ids.get(guid_key(parent_guid)) if parent_guid else None
        fields = {k: v for k, v in (block or {}).items() if k not in ("id", "name", "definition", "parent")}
        if not code.codable:
            fields.pop("terms", None)
        # the code's own GUID (unless it is the one sibkit derives from the theme id) and colour travel with it
        guid = None if guid_key(code.guid) == theme_guid(ids[key]) else code.guid
        fields.update(guid=guid, color=rgb(code.color))
        try:
            theme = Theme.model_validate({"id": ids[key], "name": code.name or ids[key], "definition": definition,
                                          "parent": parent, **fields})
        except ValidationError as exc:
            problems.append(f"{source}: line {code.line}: Code {code.name!r}: its sibkit block is not a valid "
                            f"theme ({exc.errors()[0]['msg']}); imported without terms")
            theme = Theme(id=ids[key], name=code.name or ids[key], definition=definition, parent=parent,
                          guid=guid, color=rgb(code.color))
        themes[key] = theme
    return themes


# ---------------------------------------------------------------------------------------------
# codebook exchange (.qdc)


def add_codes(parent: etree._Element, codebook_themes: list[Theme], namespace: str,
              guid_of: dict[str, str] | None = None, codable: dict[str, bool] | None = None,
              color_of: dict[str, str] | None = None) -> None:
    """Nested ``Code`` elements for themes under ``parent`` (a ``Codes`` element), in codebook order,
    each with its GUID and colour where known."""
    guid_of, color_of = guid_of or {}, color_of or {}
    kids: dict[str | None, list[Theme]] = {}
    ids = {theme.id for theme in codebook_themes}
    for theme in codebook_themes:
        kids.setdefault(theme.parent if theme.parent in ids else None, []).append(theme)

    def add(element: etree._Element, theme: Theme) -> None:
        has_children = bool(kids.get(theme.id))
        is_codable = codable.get(theme.id, True) if codable else not (has_children and not theme.terms)
        code = etree.SubElement(element, f"{{{namespace}}}Code", guid=guid_of.get(theme.id, theme_guid(theme.id)),
                                name=theme.name, isCodable="true" if is_codable else "false")
        if theme.id in color_of:
            code.set("color", color_of[theme.id])
        description = describe_theme(theme)
        if description:
            etree.SubElement(code, f"{{{namespace}}}Description").text = description
        for kid in kids.get(theme.id, []):
            add(code, kid)

    for theme in kids.get(None, []):
        add(parent, theme)


def code_guids(codebook: Codebook) -> dict[str, str]:
    """Each theme's code GUID: the one it came with from another tool, else one derived from its id."""
    return {theme.id: theme.guid or theme_guid(theme.id) for theme in codebook.themes}


def group_guid(group: ThemeGroup) -> str:
    return group.guid or stable_guid("theme-group", group.name)


def add_groups(parent: etree._Element, codebook: Codebook, namespace: str, guid_of: dict[str, str]) -> None:
    """A ``Set`` of ``MemberCode`` elements per group of the codebook, under ``parent`` (a ``Sets``)."""
    for group in codebook.groups:
        element = etree.SubElement(parent, f"{{{namespace}}}Set", guid=group_guid(group), name=group.name)
        if group.description:
            etree.SubElement(element, f"{{{namespace}}}Description").text = group.description
        for theme in group.themes:
            etree.SubElement(element, f"{{{namespace}}}MemberCode", targetGUID=guid_of[theme])


def codebook_to_qdc(codebook: Codebook) -> bytes:
    """A REFI-QDA codebook file for a sibkit codebook (GUIDs, colours and groups kept from another tool)."""
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS})
    root.set("origin", f"sibkit {__version__} (codebook {codebook.name} version {codebook.version})")
    codes = etree.SubElement(root, f"{{{CODEBOOK_NS}}}Codes")
    guids = code_guids(codebook)
    add_codes(codes, codebook.themes, CODEBOOK_NS, guid_of=guids,
              color_of={t.id: t.color for t in codebook.themes if t.color})
    if codebook.groups:
        add_groups(etree.SubElement(root, f"{{{CODEBOOK_NS}}}Sets"), codebook, CODEBOOK_NS, guids)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def parse_groups(root: etree._Element, codes: list[ParsedCode], themes: dict[str, Theme], source: str,
                 problems: list[str]) -> list[ThemeGroup]:
    """The code sets of a ``.qdc`` (``Sets``/``Set``/``MemberCode``) as groups of themes; members that
    are not codes of the file are named and left out."""
    groups: list[ThemeGroup] = []
    for sets in (c for c in root if local(c) == "Sets"):
        for item in children(sets, "Set"):
            members = []
            for member in children(item, "MemberCode"):
                key = guid_key(member.get("targetGUID") or "")
                if key in themes:
                    members.append(themes[key].id)
                else:
                    problems.append(f"{source}: line {member.sourceline}: Set {item.get('name')!r}: MemberCode "
                                    f"{member.get('targetGUID')} is not a code of this file; left out")
            guid = item.get("guid")
            groups.append(ThemeGroup(name=item.get("name") or "", themes=list(dict.fromkeys(members)),
                                     guid=guid if is_guid(guid) else None, description=child_text(item, "Description")))
    return groups


def export_qdc(codebook: Codebook, path: Path) -> int:
    """Write a codebook as ``.qdc``; returns the number of codes written."""
    path.write_bytes(codebook_to_qdc(codebook))
    return len(codebook.themes)


@dataclass
class QdcImport:
    codebook: Codebook
    problems: list[str] = field(default_factory=list)


def qdc_to_codebook(data: bytes, source: str, name: str = "imported") -> QdcImport:
    """A working sibkit codebook from a ``.qdc`` file (any tool's; sibkit's keep their terms)."""
    root = parse_xml(data, source)
    if local(root) != "CodeBook":
        raise SibkitError(f"{source}: the root element is <{local(root)}>, not <CodeBook> (is this a .qdc file?)")
    codes_element = next((c for c in root if local(c) == "Codes"), None)
    if codes_element is None:
        raise SibkitError(f"{source}: <CodeBook> has no <Codes>")
    problems: list[str] = []
    codes = parse_codes(codes_element, source, problems)
    by_key = themes_from_codes(codes, source, problems)
    themes = list(by_key.values())
    groups = parse_groups(root, codes, by_key, source, problems)
    version = "1"
    match = _ORIGIN.search(root.get("origin") or "")
    if match:
        name, version = match.group("name"), match.group("version") or "1"
    if not themes:
        raise SibkitError(f"{source}: no codes to import")
    description = f"Imported from {root.get('origin') or 'a REFI-QDA codebook'}"
    try:
        codebook = Codebook(name=name, version=version, description=description, themes=themes, groups=groups)
    except ValidationError as exc:
        raise SibkitError(f"{source}: the codes do not make a valid codebook ({exc.errors()[0]['msg']})") from None
    return QdcImport(codebook, problems)


def codebook_yaml(codebook: Codebook) -> str:
    """A codebook as the YAML ``sibkit.coding.load_codebook`` reads (defaults left out)."""
    data = codebook.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("name", codebook.name)
    for theme in data["themes"]:
        if "terms" in theme:
            theme["terms"] = [term["term"] if set(term) == {"term"} else term for term in theme["terms"]]
    # libyaml's emitter when PyYAML has it (the same text, ten times faster: 100,000 codes in seconds)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100)


def import_qdc(path: Path, output: Path) -> QdcImport:
    """Read a ``.qdc`` file and write it as a sibkit codebook YAML file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SibkitError(f"{path}: cannot read the codebook file ({exc.strerror or exc})") from None
    result = qdc_to_codebook(data, str(path), name=output.stem)
    output.write_text(codebook_yaml(result.codebook), encoding="utf-8")
    return result
