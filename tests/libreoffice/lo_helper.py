"""Drive LibreOffice Calc through UNO: fill, recalculate, convert and probe spreadsheets in batch.

Run by the system interpreter (the UNO bridge imports only there), never imported by pytest:

    /usr/bin/python3 lo_helper.py JOB.json RESULT.json [--pipe NAME]

JOB.json is {"profile": "/tmp/…", "ops": [op, …]}; RESULT.json receives one result per op,
{"ok": true, …} or {"ok": false, "error": "…"}, so one bad file does not stop the batch.
With --pipe the helper connects to a running ``soffice --accept=pipe,name=NAME;urp;``;
otherwise it starts its own headless soffice (own user profile) and stops it at the end.

Ops:
  {"op": "fill", "src", "out", "sheet", "cells": [[ref, kind, value], …], "filter"?}
      kind: "string" (setString: text stays text, also "=…" and "+…"), "value" (setValue),
      "date" (ISO date → serial number via setValue; the cell's date format is kept).
      Then calculateAll() and store (default filter "Calc MS Excel 2007 XML").
      With "check_locked": [ref, …] (optional; [] is enough) the result also tells, as LibreOffice
      sees the loaded file before typing: "protected" (the sheet) and "locked": {ref: bool} for
      every cell typed into and every ref listed.
  {"op": "convert", "src", "out", "filter", "recalc"?: bool, "password"?: str}
      Load, optionally calculateAll(), store with the filter ("calc_pdf_Export", "MS Excel 97" …).
  {"op": "probe", "src", "cells": {sheet: [ref, …]}}
      → {"structure_protected", "sheets": [{"name", "visible", "protected"}], "locked": {"sheet!ref": bool}}
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

import uno  # noqa: E402  (system python3 only)
from com.sun.star.beans import PropertyValue  # noqa: E402

EPOCH = dt.date(1899, 12, 30)


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def url(path: str) -> str:
    return uno.systemPathToFileUrl(str(Path(path).resolve()))


def connect(pipe: str, timeout: float = 90.0):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start_office(profile: str, pipe: str) -> subprocess.Popen:
    Path(profile).mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [shutil.which("soffice") or "soffice", "--headless", "--invisible", "--nologo", "--norestore",
         "--nodefault", "--nolockcheck", f"-env:UserInstallation={url(profile)}",
         f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def load(desktop, path: str, password: str | None = None):
    args = [prop("Hidden", True), prop("MacroExecutionMode", 0), prop("UpdateDocMode", 0),
            prop("ReadOnly", False)]
    if password:
        args.append(prop("Password", password))
    doc = desktop.loadComponentFromURL(url(path), "_blank", 0, tuple(args))
    if doc is None:
        raise RuntimeError(f"LibreOffice could not open {path}")
    return doc


def store(doc, out: str, filt: str, password: str | None = None) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    args = [prop("FilterName", filt), prop("Overwrite", True)]
    if password:
        if "Excel 2007" in filt or "Office Open XML" in filt:
            # LibreOffice 7.4 encrypts OOXML through EncryptionData (OOXPassword); of the crypto
            # types only ECMA-376 "Standard" (AES-128) exports without an I/O error.
            from com.sun.star.beans import NamedValue

            values = []
            for name, value in (("OOXPassword", password), ("CryptoType", "Standard")):
                nv = NamedValue()
                nv.Name, nv.Value = name, value
                values.append(nv)
            args.append(prop("EncryptionData", uno.Any("[]com.sun.star.beans.NamedValue", tuple(values))))
        else:
            args.append(prop("Password", password))
    doc.storeToURL(url(out), tuple(args))


def serial(iso: str) -> float:
    return float((dt.date.fromisoformat(iso) - EPOCH).days)


def op_fill(desktop, op: dict) -> dict:
    doc = load(desktop, op["src"])
    try:
        sheet = doc.Sheets.getByName(op["sheet"])
        report = {"ok": True}
        if "check_locked" in op:
            refs = [c[0] for c in op["cells"]] + list(op["check_locked"])
            report["protected"] = bool(sheet.isProtected())
            report["locked"] = {ref: bool(sheet.getCellRangeByName(ref).CellProtection.IsLocked) for ref in refs}
        for ref, kind, value in op["cells"]:
            cell = sheet.getCellRangeByName(ref)
            if kind == "string":
                cell.setString(str(value))
            elif kind == "value":
                cell.setValue(float(value))
            elif kind == "date":
                cell.setValue(serial(value))
            else:
                raise ValueError(f"unknown kind {kind!r}")
        doc.calculateAll()
        store(doc, op["out"], op.get("filter", "Calc MS Excel 2007 XML"))
    finally:
        doc.close(True)
    return report


def op_convert(desktop, op: dict) -> dict:
    doc = load(desktop, op["src"], op.get("open_password"))
    try:
        if op.get("recalc"):
            doc.calculateAll()
        store(doc, op["out"], op["filter"], op.get("password"))
    finally:
        doc.close(True)
    return {"ok": True}


def op_probe(desktop, op: dict) -> dict:
    doc = load(desktop, op["src"])
    try:
        sheets = []
        for i in range(doc.Sheets.getCount()):
            s = doc.Sheets.getByIndex(i)
            sheets.append({"name": s.getName(), "visible": bool(s.IsVisible), "protected": bool(s.isProtected())})
        locked = {}
        for name, refs in (op.get("cells") or {}).items():
            s = doc.Sheets.getByName(name)
            for ref in refs:
                locked[f"{name}!{ref}"] = bool(s.getCellRangeByName(ref).CellProtection.IsLocked)
        return {"ok": True, "structure_protected": bool(doc.isProtected()), "sheets": sheets, "locked": locked}
    finally:
        doc.close(True)


OPS = {"fill": op_fill, "convert": op_convert, "probe": op_probe}


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    pipe = None
    if "--pipe" in argv:
        pipe = argv[argv.index("--pipe") + 1]
        args = [a for a in args if a != pipe]
    job_path, result_path = args[0], args[1]
    job = json.loads(Path(job_path).read_text("utf-8"))
    proc = None
    if pipe is None:
        pipe = f"xltools_lo_{os.getpid()}"
        proc = start_office(job.get("profile") or f"/tmp/xltools-lo-profile-{os.getpid()}", pipe)
    results = []
    try:
        desktop = connect(pipe)
        for op in job["ops"]:
            started = time.monotonic()
            try:
                res = OPS[op["op"]](desktop, op)
            except Exception as exc:  # one bad op does not stop the batch
                res = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                       "trace": traceback.format_exc(limit=3)}
            res["seconds"] = round(time.monotonic() - started, 3)
            results.append(res)
    finally:
        Path(result_path).write_text(json.dumps(results, ensure_ascii=False), "utf-8")
        if proc is not None:
            stop(proc, pipe)
    return 0


def stop(proc: subprocess.Popen, pipe: str) -> None:
    try:
        connect(pipe, timeout=2).terminate()
    except Exception:
        pass  # terminate() disposes the bridge; an exception here is expected
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
