"""The legal ``HDon`` XML: build, parse, validate (Decision 1271/QĐ-CT, PBan 2.1.0 and 2.0.x)."""

from .build import build_checked_tree, build_tree, build_xml, fmt_num, serialize
from .parse import parse_xml, read_tree
from .validate import check_invoice, validate_tree, validate_xml

__all__ = [
    "build_checked_tree", "build_tree", "build_xml", "check_invoice", "fmt_num", "parse_xml", "read_tree", "serialize",
    "validate_tree", "validate_xml",
]
