"""Records what ansible-core's own CLIs print for the inventory test cases,
the reference `tests/parity.rs` and `tests/patterns.rs` compare against.

    .venv/bin/python inventory/tests/gen_expected.py inventory/tests/data --write [CASE...]

Without --write, prints one JSON document with every recording (the tests
use that to check the files are current).

Each `data/<case>/case.json` names the inventory sources (`-i`, in order),
the hosts for `--host`, the groups for `--graph` and an optional `--limit`
for `--list`; the commands run in the case directory (so the case directory
is also the playbook directory for `group_vars/` and `host_vars/`). The
recording is `data/<case>/expected.json`.

`data/patterns/` holds one inventory, `patterns.json` (ad-hoc patterns with
optional limits, and plays with `order:`), and `expected.json`.
"""
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile

BIN = os.path.dirname(sys.executable)
# an empty configuration: Ansible's defaults whatever the machine has
_CFG = tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False)
_CFG.close()
ENV = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
           ANSIBLE_CONFIG=_CFG.name, ANSIBLE_HOME="/tmp/rustle-ansible-home",
           ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_DEPRECATION_WARNINGS="0",
           PYTHONDONTWRITEBYTECODE="1", COLUMNS="1000")


def run(cwd, *args):
    p = subprocess.run([os.path.join(BIN, args[0]), *args[1:]], cwd=cwd, env=ENV,
                       capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def inv_args(case):
    out = []
    for s in case["sources"]:
        out += ["-i", s]
    return out


def record_case(d):
    case = json.load(open(os.path.join(d, "case.json")))
    inv = inv_args(case)
    out = {}
    extra = ["-l", case["limit"]] if case.get("limit") else []
    rc, so, _ = run(d, "ansible-inventory", *inv, "--list", *extra)
    out["list"] = json.loads(so) if rc == 0 else {"rc": rc}
    out["graph"] = {}
    out["graph_vars"] = {}
    for g in case["graph"]:
        rc, so, _ = run(d, "ansible-inventory", *inv, "--graph", g)
        out["graph"][g] = so if rc == 0 else {"rc": rc}
        rc, so, _ = run(d, "ansible-inventory", *inv, "--graph", g, "--vars")
        out["graph_vars"][g] = so if rc == 0 else {"rc": rc}
    out["host"] = {}
    for h in case["hosts"]:
        rc, so, _ = run(d, "ansible-inventory", *inv, "--host", h)
        out["host"][h] = json.loads(so) if rc == 0 else {"rc": rc}
    return out


WARN = re.compile(r"^\[WARNING\]: (Could not match supplied host pattern, ignoring: .*)$")


def parse_hosts(so):
    lines = so.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\s*hosts \(\d+\):$", line):
            return [x.strip() for x in lines[i + 1:] if x.strip()]
    return []


def record_pattern(d, item):
    if "order" in item:
        # ansible-playbook --list-hosts prints a set; with serial 1 the
        # task results come in the play's host order
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("- hosts: '%s'\n  order: %s\n  gather_facts: false\n"
                    "  connection: local\n  serial: 1\n  tasks:\n"
                    "    - debug: msg=x\n"
                    % (item["pattern"], item["order"]))
        rc, so, se = run(d, "ansible-playbook", "-i", "hosts", f.name)
        os.unlink(f.name)
        hosts = re.findall(r"^ok: \[([^\]]*)\]", so, re.M)
    else:
        extra = ["-l", item["limit"]] if item.get("limit") else []
        rc, so, se = run(d, "ansible", "-i", "hosts", item["pattern"], "--list-hosts", *extra)
        hosts = parse_hosts(so)
    warnings = [m.group(1) for m in map(WARN.match, se.splitlines()) if m]
    if rc != 0:
        return {"rc": rc, "warnings": warnings}
    return {"hosts": hosts, "warnings": warnings}


def main():
    root = sys.argv[1]
    write = "--write" in sys.argv
    only = [a for a in sys.argv[2:] if not a.startswith("--")]
    cases = sorted(n for n in os.listdir(root)
                   if os.path.isfile(os.path.join(root, n, "case.json"))
                   and (not only or n in only))
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as ex:
        futs = {n: ex.submit(record_case, os.path.join(root, n)) for n in cases}
        pdir = os.path.join(root, "patterns")
        items = json.load(open(os.path.join(pdir, "patterns.json")))
        if only and "patterns" not in only:
            items = []
        pfuts = [ex.submit(record_pattern, pdir, it) for it in items]
        for n in cases:
            results[n] = futs[n].result()
        pres = {}
        for it, f in zip(items, pfuts):
            key = it["pattern"] + ("  -l " + it["limit"] if it.get("limit") else "") + \
                ("  order=" + it["order"] if it.get("order") else "")
            pres[key] = f.result()
        if items:
            results["patterns"] = pres
    os.unlink(_CFG.name)
    if write:
        for n, r in results.items():
            with open(os.path.join(root, n, "expected.json"), "w") as f:
                json.dump(r, f, indent=2, sort_keys=True, ensure_ascii=False)
                f.write("\n")
    else:
        json.dump(results, sys.stdout, indent=2, sort_keys=True, ensure_ascii=False)


if __name__ == "__main__":
    main()
