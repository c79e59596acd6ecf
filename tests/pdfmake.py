"""A tiny PDF writer for the tests: pages of ruling lines, filled rectangles and text, written
byte by byte (no PDF library), optionally encrypted with the standard security handler
(RC4, 40-bit, revision 2 — as old exporters still write it).

Coordinates are top-down like pdfplumber's (``top`` from the page's upper edge, in points);
the writer flips them. CJK text uses the non-embedded Adobe-GB1 font STSong-Light with the
UniGB-UCS2-H encoding (each character 1 em wide), ASCII text Helvetica; a text run switches
fonts as it goes, so its positions are the PDF's own.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

W, H = 595.0, 842.0
PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


class Page:
    def __init__(self):
        self.ops: list[bytes] = []

    def line(self, x0, top, x1, bottom, width=0.5):
        self.ops.append(b"%.2f w %.2f %.2f m %.2f %.2f l S" % (width, x0, H - top, x1, H - bottom))

    def box(self, x0, top, x1, bottom):
        """A cell border: four stroked lines."""
        self.line(x0, top, x1, top)
        self.line(x0, bottom, x1, bottom)
        self.line(x0, top, x0, bottom)
        self.line(x1, top, x1, bottom)

    def fill(self, x0, top, x1, bottom, gray=0.9):
        """A background (fill only, no stroke), as LibreOffice paints each cell."""
        self.ops.append(b"q %.2f g %.2f %.2f %.2f %.2f re f Q" % (gray, x0, H - bottom, x1 - x0, bottom - top))

    def text(self, x, top, s: str, size=10.0):
        """``s`` with its first glyph's left edge at ``x`` and the em box's top at ``top``."""
        base = H - top - size * 0.88
        out = [b"BT 1 0 0 1 %.2f %.2f Tm" % (x, base)]
        for run, wide in _runs(s):
            if wide:
                out.append(b"/F1 %.2f Tf <%s> Tj" % (size, run.encode("utf-16-be").hex().encode()))
            else:
                esc = run.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                out.append(b"/F2 %.2f Tf (%s) Tj" % (size, esc.encode("latin-1")))
        out.append(b"ET")
        self.ops.append(b" ".join(out))

    def content(self) -> bytes:
        return b"\n".join(self.ops)


def _runs(s: str):
    runs: list[tuple[str, bool]] = []
    for ch in s:
        wide = ord(ch) > 0x7F
        if runs and runs[-1][1] == wide:
            runs[-1] = (runs[-1][0] + ch, wide)
        else:
            runs.append((ch, wide))
    return runs


def rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for b in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(b ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def pdf(pages: list[Page], *, password: str | None = None, compress: bool = True) -> bytes:
    """The PDF of these pages; with ``password`` encrypted (user password = ``password``)."""
    fonts = [
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [4 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo "
        b"<< /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /DW 1000 /FontDescriptor 6 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 4 /FontBBox [0 -200 1000 900] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 80 >>",
    ]
    n = len(pages)
    first = 7   # objects 1–6: catalog, pages, 3 fonts + descriptor
    kids = b" ".join(b"%d 0 R" % (first + 2 * i) for i in range(n))
    objs: list[tuple[bytes, bytes | None]] = [
        (b"<< /Type /Catalog /Pages 2 0 R >>", None),
        (b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n, None),
        (fonts[0], None), (fonts[1], None), (fonts[2], None), (fonts[3], None),
    ]
    for i, page in enumerate(pages):
        objs.append((b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                     b"/Resources << /Font << /F1 3 0 R /F2 5 0 R >> >> >>" % (W, H, first + 2 * i + 1), None))
        objs.append((b"", page.content()))
    ident = hashlib.md5(b"xltools-test").digest()
    key = None
    encrypt = b""
    if password is not None:
        owner = hashlib.md5((password.encode() + PAD)[:32]).digest()[:5]
        o = rc4(owner, (password.encode() + PAD)[:32])
        p = struct.pack("<i", -4)
        key = hashlib.md5((password.encode() + PAD)[:32] + o + p + ident).digest()[:5]
        u = rc4(key, PAD)
        objs.append((b"<< /Filter /Standard /V 1 /R 2 /O <" + o.hex().encode() + b"> /U <" + u.hex().encode()
                     + b"> /P -4 >>", None))
        encrypt = b" /Encrypt %d 0 R" % len(objs)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, (body, stream) in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num
        if stream is None:
            out += body
        else:
            data = zlib.compress(stream) if compress else stream
            if key is not None and not (password is not None and num == len(objs)):
                data = rc4(hashlib.md5(key + struct.pack("<i", num)[:3] + b"\0\0").digest()[:10], data)
            filt = b" /Filter /FlateDecode" if compress else b""
            out += b"<< /Length %d%s >>\nstream\n" % (len(data), filt) + data + b"\nendstream"
        out += b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += (b"trailer\n<< /Size %d /Root 1 0 R%s /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, encrypt, ident.hex().encode(), ident.hex().encode(), xref))
    return bytes(out)
