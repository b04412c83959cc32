"""Safe XML for REFI-QDA: parsing that refuses DTDs and entities, and XSD validation with lxml."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from sibkit.errors import SibkitError

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


def parse_xml(data: bytes, source: str) -> etree._Element:
    """The root element of an XML document; one clear error for invalid XML, a DTD or entities."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise SibkitError(f"{source}: has a DOCTYPE or entity declarations, which REFI-QDA files never need; "
                          "refused (entity expansion attacks)")
    try:
        tree = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise SibkitError(f"{source}: is not valid XML (line {exc.lineno}: {exc.msg})") from None
    docinfo = tree.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise SibkitError(f"{source}: has a DOCTYPE or entity declarations; refused")
    for element in tree.iter():
        if isinstance(element, etree._Entity):
            raise SibkitError(f"{source}: line {element.sourceline}: entity reference {element.text} refused")
    return tree


def local(element: etree._Element) -> str:
    """An element's name without its namespace (tools differ in the namespace version they write)."""
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if local(child) == name]


def child(element: etree._Element, name: str) -> etree._Element | None:
    found = children(element, name)
    return found[0] if found else None


def child_text(element: etree._Element, name: str) -> str:
    found = child(element, name)
    return (found.text or "") if found is not None else ""


def validation_errors(xml: bytes, xsd: Path) -> list[str]:
    """Problems found by validating ``xml`` against the XSD file (empty when valid)."""
    schema = etree.XMLSchema(etree.parse(str(xsd), _parser()))
    document = etree.fromstring(xml, _parser()).getroottree()
    if schema.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]
