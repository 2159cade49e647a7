#!/usr/bin/env python3
"""Reads .eml files with Python's own email package (policy.default), a parser that shares no code with
nodemailer or mailparser, and prints one JSON object per file on stdout:

  {"file", "defects": [...], "problems": [...], "from": [...], "to": [...], "subject",
   "messageId", "contentVersion", "attachments": [{"filename", "contentType", "size", "sha256",
   "contentId", "disposition"}]}

defects:  every defect Python reports, on the message, on each part, and on every header of every part
          (recursively over the MIME tree), as "<DefectName> in <where>: <text>".
problems: header fields folded with an empty first line ("Message-ID:" then the value on the next line):
          legal, but a naive reader of the field sees an empty value.

Usage: python_email_check.py FILE...   (exit status 0 unless a file cannot be read at all)
"""
import hashlib
import json
import sys
from email import policy
from email.parser import BytesParser


def addresses(header):
    if header is None:
        return []
    return [{"name": a.display_name, "address": a.addr_spec} for a in header.addresses]


def check(path):
    with open(path, "rb") as f:
        data = f.read()
    msg = BytesParser(policy=policy.default).parsebytes(data)
    defects = []
    problems = []
    for index, part in enumerate(msg.walk()):
        where = "message" if index == 0 else f"part {index} ({part.get_content_type()})"
        for d in part.defects:
            defects.append(f"{type(d).__name__} in {where}: {d}")
        for name, value in part.items():
            for d in getattr(value, "defects", ()):
                defects.append(f"{type(d).__name__} in {where}, header {name}: {d}")
        for name, raw in part.raw_items():
            if raw.startswith("\r\n") or raw.startswith("\n"):
                problems.append(f"{where}, header {name}: folded with an empty first line")

    attachments = []
    for part in msg.iter_attachments():
        content = part.get_payload(decode=True) or b""
        attachments.append({
            "filename": part.get_filename(),
            "contentType": part.get_content_type(),
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "contentId": str(part.get("content-id")) if part.get("content-id") else None,
            "disposition": part.get_content_disposition(),
        })
    return {
        "file": path,
        "defects": defects,
        "problems": problems,
        "from": addresses(msg.get("from")),
        "to": addresses(msg.get("to")),
        "subject": str(msg.get("subject", "")),
        "messageId": str(msg.get("message-id", "")),
        "contentVersion": str(msg.get("x-liveperson-content-version", "")),
        "attachments": attachments,
    }


def main(paths):
    for path in paths:
        try:
            result = check(path)
        except Exception as e:  # a file Python cannot parse at all is itself a finding
            result = {"file": path, "defects": [f"unparseable: {type(e).__name__}: {e}"], "problems": []}
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
