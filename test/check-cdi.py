#!/usr/bin/env python3
# check-cdi.py FILE|- [NODE...]: check a CDI spec against the required fields of the Container
# Device Interface spec (cncf-tags/container-device-interface, SPEC.md and its JSON schema):
#   cdiVersion  string, semantic version (MAJOR.MINOR.PATCH)
#   kind        "VENDOR/CLASS": VENDOR a DNS subdomain, CLASS alphanumerics with - _ . between
#   devices     array; each has "name" (alphanumeric first and last, - _ . : between) and
#               "containerEdits" (object); each containerEdits.deviceNodes[] has "path"
#               (absolute), and type "c"/"b"/"u"/"p" with major/minor integers when given
# Device names must be unique. With NODE arguments: exactly those devices, each naming
# /dev/NODE, and (if it exists here) with the node's real major:minor.
# Exit 0 when valid, 1 with the reasons otherwise.
import json
import os
import re
import stat
import sys

errors = []


def err(msg):
    errors.append(msg)


def main():
    src = sys.argv[1]
    text = sys.stdin.read() if src == "-" else open(src).read()
    try:
        spec = json.loads(text)
    except ValueError as e:
        print(f"check-cdi: {src}: not JSON: {e}")
        return 1
    if not isinstance(spec, dict):
        err("top level is not an object")
        spec = {}
    ver = spec.get("cdiVersion")
    if not isinstance(ver, str) or not re.fullmatch(r"\d+\.\d+\.\d+", ver):
        err(f"cdiVersion missing or not a semantic version: {ver!r}")
    kind = spec.get("kind")
    label = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
    if not isinstance(kind, str) or not re.fullmatch(
        rf"{label}(\.{label})*/[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?", kind
    ):
        err(f"kind missing or not VENDOR/CLASS: {kind!r}")
    devices = spec.get("devices")
    if not isinstance(devices, list):
        err("devices missing or not an array")
        devices = []
    names = []
    for i, d in enumerate(devices):
        name = d.get("name") if isinstance(d, dict) else None
        if not isinstance(name, str) or not re.fullmatch(
            r"[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?", name
        ):
            err(f"devices[{i}].name missing or invalid: {name!r}")
        names.append(name)
        edits = d.get("containerEdits") if isinstance(d, dict) else None
        if not isinstance(edits, dict):
            err(f"devices[{i}].containerEdits missing or not an object")
            continue
        for j, n in enumerate(edits.get("deviceNodes", [])):
            path = n.get("path") if isinstance(n, dict) else None
            if not isinstance(path, str) or not path.startswith("/"):
                err(f"devices[{i}].containerEdits.deviceNodes[{j}].path missing or relative")
                continue
            if n.get("type", "c") not in ("c", "b", "u", "p"):
                err(f"{path}: bad type {n.get('type')!r}")
            for k in ("major", "minor"):
                if k in n and not isinstance(n[k], int):
                    err(f"{path}: {k} is not an integer")
            want = sys.argv[2:]
            if want and os.path.exists(path):
                st = os.stat(path)
                real = (os.major(st.st_rdev), os.minor(st.st_rdev))
                if not stat.S_ISCHR(st.st_mode) or real != (n.get("major"), n.get("minor")):
                    err(f"{path}: spec says {n.get('major')}:{n.get('minor')}, node is {real}")
            if want and path != "/dev/" + str(name):
                err(f"device {name} points at {path}")
    if len(set(names)) != len(names):
        err(f"device names repeat: {names}")
    if sys.argv[2:] and names != sys.argv[2:]:
        err(f"devices {names}, expected {sys.argv[2:]}")
    for e in errors:
        print(f"check-cdi: {src}: {e}")
    if not errors:
        print(f"check-cdi: {src}: valid CDI spec {ver}, kind {kind}, devices {names}")
    return 1 if errors else 0


sys.exit(main())
