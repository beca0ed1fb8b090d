#!/usr/bin/env python3
"""Compare what two runs wrote around the code: the YAML under `resources/` as parsed
YAML (comments, layout and key order set aside), and the settings of the monitoring
notebooks under `monitoring/` (TARGET_TABLE, CHECKPOINT_BASE, MAX_WORKERS, SOURCES: the
notebooks themselves are each tool's own code).

    compare-resources.py OURS_PROJECT REFERENCE_PROJECT

Pairs the files of both projects by relative path and prints one line per file: `equal`,
`differs` (with the first differences), `missing` (only in the reference) or `extra` (only
in ours). Exit status 0 when every file is equal.
Needs PyYAML (the reference's virtualenv has it).
"""
import ast
import os
import sys

import yaml


NOTEBOOK_SETTINGS = ("TARGET_TABLE", "CHECKPOINT_BASE", "MAX_WORKERS", "SOURCES")


def files(project):
    found = {}
    for top, suffix in (("resources", ".yml"), ("monitoring", ".py")):
        for dirpath, _, names in os.walk(os.path.join(project, top)):
            for name in names:
                if name.endswith(suffix):
                    full = os.path.join(dirpath, name)
                    found[os.path.relpath(full, project)] = full
    return found


def load(path):
    with open(path) as f:
        if path.endswith(".yml"):
            return yaml.safe_load(f)
        settings = {}
        for node in ast.parse(f.read()).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                name = getattr(node.targets[0], "id", None)
                if name in NOTEBOOK_SETTINGS:
                    settings[name] = ast.literal_eval(node.value)
        return settings


def differences(ours, ref, path="", out=None):
    out = [] if out is None else out
    if isinstance(ours, dict) and isinstance(ref, dict):
        for key in sorted(set(ours) | set(ref), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in ours:
                out.append(f"{where}: only in the reference ({ref[key]!r})")
            elif key not in ref:
                out.append(f"{where}: only in ours ({ours[key]!r})")
            else:
                differences(ours[key], ref[key], where, out)
    elif isinstance(ours, list) and isinstance(ref, list) and len(ours) == len(ref):
        for i, (a, b) in enumerate(zip(ours, ref)):
            differences(a, b, f"{path}[{i}]", out)
    elif ours != ref or type(ours) is not type(ref):
        out.append(f"{path}: ours {ours!r}, reference {ref!r}")
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ours, ref = files(sys.argv[1]), files(sys.argv[2])
    failed = 0
    for rel in sorted(set(ours) | set(ref)):
        if rel not in ours:
            print(f"missing  {rel}")
            failed += 1
            continue
        if rel not in ref:
            print(f"extra    {rel}")
            failed += 1
            continue
        found = differences(load(ours[rel]), load(ref[rel]))
        if found:
            failed += 1
            print(f"differs  {rel}")
            for line in found[:10]:
                print(f"    {line}")
        else:
            print(f"equal    {rel}")
    total = len(set(ours) | set(ref))
    print(f"around the code: {total - failed}/{total} equal")
    if total == 0:
        print("nothing was written around the code by either: nothing was compared")
    sys.exit(1 if failed or total == 0 else 0)


if __name__ == "__main__":
    main()
