"""Small real files for the sandboxes: a one-page PDF written by hand, and zip archives."""

from __future__ import annotations

import io
import unicodedata
import zipfile

_PAGE_W, _PAGE_H, _MARGIN, _LEADING, _MAX_LINES = 595, 842, 50, 14, 55


def ascii_text(text: str) -> str:
    """Latin text without Vietnamese diacritics (the PDF uses a standard font without them)."""
    text = str(text).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return text.encode("latin-1", "replace").decode("latin-1")


def _pdf_string(text: str) -> bytes:
    raw = ascii_text(text).encode("latin-1")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def make_pdf(lines: list[str], title: str = "") -> bytes:
    """A one-page A4 PDF showing ``lines`` (Helvetica; the first line bold and larger)."""
    lines = [str(x) for x in lines][:_MAX_LINES]
    ops = [b"BT", f"/F2 14 Tf {_LEADING + 4} TL {_MARGIN} {_PAGE_H - _MARGIN} Td".encode()]
    for i, line in enumerate(lines):
        if i == 1:
            ops.append(f"/F1 10 Tf {_LEADING} TL".encode())
        ops.append(_pdf_string(line[:110]) + b" Tj T*")
    ops.append(b"ET")
    content = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_W} {_PAGE_H}] "
        "/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Title " + _pdf_string(title or (lines[0] if lines else "")) + b" /Producer (vn-einvoice sandbox) >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
              f"startxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def make_zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


XSL = b"""<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><html><body><pre><xsl:copy-of select="."/></pre></body></html></xsl:template>
</xsl:stylesheet>
"""
