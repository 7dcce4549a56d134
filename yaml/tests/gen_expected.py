"""Loads each corpus file with Ansible's own YAML loader (ansible-core's
AnsibleLoader on PyYAML) and prints a typed JSON tree, the reference the
rustle-yaml tests compare against.

    .venv/bin/python yaml/tests/gen_expected.py yaml/tests/corpus > yaml/tests/expected.json
"""
import datetime
import io
import json
import math
import os
import sys
import warnings

from ansible.parsing.yaml.loader import AnsibleLoader
from ansible.utils.display import Display

captured = []
Display.warning = lambda self, msg, formatted=False: captured.append(msg)


def typed(v):
    name = type(v).__name__
    if v is None:
        return {"t": "null"}
    if isinstance(v, bool):
        return {"t": "bool", "v": v}
    if isinstance(v, int):
        return {"t": "int", "v": str(v)}
    if isinstance(v, float):
        if math.isnan(v):
            return {"t": "float", "v": "nan"}
        if math.isinf(v):
            return {"t": "float", "v": "inf" if v > 0 else "-inf"}
        return {"t": "float", "v": repr(v)}
    if name == "AnsibleUnsafeText":
        return {"t": "unsafe", "v": str(v)}
    if name == "AnsibleVaultEncryptedUnicode":
        return {"t": "vault", "v": v._ciphertext.decode()}
    if isinstance(v, (datetime.date, datetime.datetime)):
        return {"t": "timestamp"}
    if isinstance(v, bytes):
        return {"t": "binary", "v": v.decode("latin-1")}
    if isinstance(v, str):
        return {"t": "str", "v": v}
    if isinstance(v, list):
        return {"t": "seq", "v": [typed(x) for x in v]}
    if isinstance(v, dict):
        return {"t": "map", "v": [[typed(k), typed(x)] for k, x in v.items()]}
    return {"t": "other", "v": repr(v)}


out = {}
root = sys.argv[1]
for fn in sorted(os.listdir(root)):
    path = os.path.join(root, fn)
    with open(path) as f:
        text = f.read()
    captured.clear()
    try:
        loader = AnsibleLoader(text, file_name=fn)
        docs = []
        while loader.check_data():
            docs.append(typed(loader.get_data()))
        out[fn] = {"docs": docs, "warnings": len(captured)}
    except Exception as e:  # noqa: BLE001
        out[fn] = {"error": type(e).__name__}
print(json.dumps(out, indent=1, sort_keys=True))
