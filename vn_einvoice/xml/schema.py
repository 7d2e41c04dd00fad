"""The ``HDon`` field tables of Decision 1271/QĐ-CT (PBan 2.1.0) and 1510/1450 (2.0.1/2.0.0), as data.

No official XSD is public; these tables encode the decision's field tables (tag, type, size,
presence, version) in element order. The builder emits this order; the validator checks it.
Presence: ``M`` mandatory, ``C`` conditional (checked by rules in ``validate.py``), ``O`` optional.

Calibrated on real invoices accepted by the tax authority (``tests/data/realworld``): the order of
the tables is not enforced by the tax authority (a different order is a warning), and a few elements
outside the tables are written by real producers (:data:`KNOWN_EXTRAS`, a warning), as is the absence
of ``HDCTTChinh`` in 2.1.0 (:data:`TOLERATED_ABSENT`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

V20 = frozenset({"2.0.0", "2.0.1", "2.1.0"})
V201 = frozenset({"2.0.1", "2.1.0"})
V21 = frozenset({"2.1.0"})


@dataclass(frozen=True)
class Field:
    tag: str
    kind: str = "str"  # str | int | num | date | datetime | group | any
    size: int | tuple[int, int] | None = None  # max chars, or (digits, decimals) for num
    presence: str = "O"
    versions: frozenset = V20
    children: tuple[Field, ...] = ()
    repeat: bool = False

    @cached_property
    def positions(self) -> dict[str, tuple[int, Field]]:
        """Each child's tag → (position in the decision's order, field)."""
        return {c.tag: (i, c) for i, c in enumerate(self.children)}

    def child(self, tag: str) -> Field | None:
        hit = self.positions.get(tag)
        return hit[1] if hit else None


NUM = (21, 6)
LINE_TAX_FIELD = "TThue"  # name of the TTKhac field carrying a line's VAT amount

TTKHAC = Field("TTKhac", "group", children=(
    Field("TTin", "group", repeat=True, children=(
        Field("TTruong", "str", 50, "M"),
        Field("KDLieu", "str", 50, "M"),
        Field("DLieu", "str", 500, "M"),
    )),
))

TTHDLQUAN = Field("TTHDLQuan", "group", presence="C", children=(
    Field("TCHDon", "int", 1, "M"),
    Field("LHDCLQuan", "int", 1, "M"),
    Field("KHMSHDCLQuan", "str", 11, "C"),
    Field("KHHDCLQuan", "str", 8, "C"),
    Field("SHDCLQuan", "str", 8, "C"),
    Field("NLHDCLQuan", "date", None, "C"),
    Field("GChu", "str", 255),
    Field("SBKCLQuan", "str", 50, "C", V21),
    Field("NBKCLQuan", "date", None, "C", V21),
))

TTCHUNG = Field("TTChung", "group", presence="M", children=(
    Field("PBan", "str", 6, "M"),
    Field("THDon", "str", 100, "M"),
    Field("KHMSHDon", "str", 11, "M"),  # 1 char today; 11 for legacy TT32/2011 templates
    Field("KHHDon", "str", 8, "M"),  # 6 chars today; up to 8 for legacy series
    Field("SHDon", "int", 8, "C"),
    Field("MHSo", "str", 20),
    Field("NLap", "date", None, "M"),
    Field("HDCTTChinh", "int", 1, "M", V21),
    Field("HDDCKPTQuan", "int", 1, "O", V201),
    Field("SBKe", "str", 50),
    Field("NBKe", "date"),
    Field("DVTTe", "str", 3, "M"),
    Field("TGia", "num", (7, 2), "C"),
    Field("HTTToan", "str", 50, "C"),
    Field("MSTTCGP", "str", 14, "C"),
    Field("MSTDVNUNLHDon", "str", 14),
    Field("TDVNUNLHDon", "str", 400),
    Field("DCDVNUNLHDon", "str", 400),
    TTHDLQUAN,
    TTKHAC,
))

NBAN = Field("NBan", "group", presence="M", children=(
    Field("Ten", "str", 400, "M"),
    Field("MST", "str", 14, "M"),
    Field("DChi", "str", 400, "M"),
    Field("MCHang", "str", 50, "O", V21),
    Field("TCHang", "str", 400, "O", V21),
    Field("SDThoai", "str", 20),
    Field("DCTDTu", "str", 50),
    Field("STKNHang", "str", 30),
    Field("TNHang", "str", 400),
    Field("Fax", "str", 20),
    Field("Website", "str", 100),
    TTKHAC,
))

NMUA = Field("NMua", "group", presence="M", children=(
    Field("Ten", "str", 400, "C"),
    Field("MST", "str", 14, "C"),
    Field("MDVQHNSach", "str", 7, "C", V21),
    Field("DChi", "str", 400, "C"),
    Field("MKHang", "str", 50),
    Field("SDThoai", "str", 20),
    Field("CCCDan", "str", 12, "C", V21),
    Field("SHChieu", "str", 20, "C", V21),
    Field("DCTDTu", "str", 50),
    Field("HVTNMHang", "str", 100),
    Field("STKNHang", "str", 30),
    Field("TNHang", "str", 400),
    TTKHAC,
))

HHDVU = Field("HHDVu", "group", presence="M", repeat=True, children=(
    Field("TChat", "int", 1, "M"),
    Field("STT", "int", 4),
    Field("MHHDVu", "str", 50),
    Field("THHDVu", "str", 500, "M"),
    Field("DVTinh", "str", 50),
    Field("SLuong", "num", NUM),
    Field("DGia", "num", NUM),
    Field("TLCKhau", "num", (6, 4)),
    Field("STCKhau", "num", NUM),
    Field("ThTien", "num", NUM, "C"),
    Field("TSuat", "str", 11, "C"),
    TTKHAC,
))

TTOAN = Field("TToan", "group", presence="M", children=(
    Field("THTTLTSuat", "group", presence="C", children=(
        Field("LTSuat", "group", presence="M", repeat=True, children=(
            Field("TSuat", "str", 11, "M"),
            Field("ThTien", "num", NUM, "M"),
            Field("TThue", "num", NUM, "C"),
        )),
    )),
    Field("TgTCThue", "num", NUM, "C"),
    Field("TgTThue", "num", NUM, "C"),
    Field("TGTKCThue", "num", NUM, "O", V201),
    Field("DSLPhi", "group", children=(
        Field("LPhi", "group", repeat=True, children=(
            Field("TLPhi", "str", 100, "M"),
            Field("TPhi", "num", NUM, "M"),
        )),
    )),
    Field("TTCKTMai", "num", NUM),
    Field("TGTKhac", "num", NUM, "O", V201),
    Field("TgTTTBSo", "num", NUM, "M"),
    Field("TgTTTBChu", "str", 255, "M"),
    TTKHAC,
))

DLHDON = Field("DLHDon", "group", presence="M", children=(
    TTCHUNG,
    Field("NDHDon", "group", presence="M", children=(
        NBAN,
        NMUA,
        Field("DSHHDVu", "group", presence="M", children=(HHDVU,)),
        TTOAN,
    )),
    TTKHAC,
))

HDON = Field("HDon", "group", presence="M", children=(
    DLHDON,
    Field("DLQRCode", "str", 512),
    Field("MCCQT", "str", 34, "C"),
    Field("DSCKS", "group", presence="M", children=(
        Field("NBan", "any", presence="C"),
        Field("NMua", "any"),
        Field("CQT", "any", presence="C"),
        Field("CCKSKhac", "any"),
    )),
))


# Elements outside the field tables that real producers write and the tax authority accepts, by parent:
# a warning, not an error (any other unknown element is an error). Seen in tests/data/realworld.
KNOWN_EXTRAS: dict[str, dict[str, str]] = {
    "HDon": {"Fkey": "the provider's own key outside the signed data (VNPT 2025)"},
    "HHDVu": {"TThue": "the line's VAT amount as an element (Viettel 2.0.1); the tables carry it in TTKhac"},
    "NDHDon": {"TTKhac": "an extra-information block directly in NDHDon (Viettel 2.0.0)"},
}

# Mandatory in the tables, absent from real invoices the tax authority accepted: a warning when absent.
TOLERATED_ABSENT: dict[str, str] = {
    "HDCTTChinh": "absent, read as 0 (not a financial-leasing invoice): real 2.1.0 invoices accepted by the "
                  "tax authority omit it (BKAV 2025)",
}
