"""The hostile import files of the security review (#18), for the tests and the bench."""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl import Workbook


def hostile_csv() -> bytes:
    return (",".join([""] * 20_000 + ["x"]) + "\n" + "\n" * 20_000).encode()


def hostile_xlsx(forged_size: bool = False) -> bytes:
    book = Workbook()
    book.active["A1"] = "x"
    book.active["XFD1048576"] = "y"
    buffer = io.BytesIO()
    book.save(buffer)
    if not forged_size:
        return buffer.getvalue()
    source, out = zipfile.ZipFile(buffer), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:A1"/>', data)
            target.writestr(item, data)
    return out.getvalue()


def folded_vcard(kib: int) -> bytes:
    """A value folded over ~4 000 lines, with a quote that made every line rescan the value."""
    body = "x" * (kib * 1024)
    folded = "\r\n ".join(body[i : i + 74] for i in range(0, len(body), 74))
    return (f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Muster;Max\r\nEMAIL:max@example.com\r\n"
            f'NOTE;X-A="b{folded}\r\nEND:VCARD\r\n').encode()  # fmt: skip
