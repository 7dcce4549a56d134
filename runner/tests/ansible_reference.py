#!/usr/bin/env python3
"""Runs the conformance cases (tests/cases/<module>/<case>.json) against
real Ansible, to check that the cases' expectations are Ansible's.

    python3 -m venv /tmp/ans && /tmp/ans/bin/pip install ansible-core==2.18.19
    ANSIBLE=/tmp/ans/bin python3 runner/tests/ansible_reference.py [module[/case] ...]

Each case runs as the Rust harness runs it: check mode (diff on), a real
run, a second real run, in a fresh temporary directory. Shipped assets
become files next to the generated playbook, so `src` paths resolve there
(`after_header` then names that controller path: such differences are
reported as "controller path" notes, not failures). `_src_mode` becomes the
mode of the shipped file. Internal-only expectations (`src` of temp files)
are matched loosely as in the Rust harness.
"""

import glob
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
ANSIBLE = os.environ.get("ANSIBLE", "/tmp/ans/bin")

CALLBACK = r'''
from ansible.plugins.callback import CallbackBase
import json, os
class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'dumpjson'
    def _dump(self, result, status):
        r = dict(result._result)
        for k in ("invocation", "_ansible_no_log", "_ansible_verbose_always", "_ansible_verbose_override"):
            r.pop(k, None)
        with open(os.environ["RESULT_FILE"], "a") as f:
            f.write(json.dumps({"status": status, "result": r}, default=str) + "\n")
    def v2_runner_on_ok(self, result): self._dump(result, "ok")
    def v2_runner_on_failed(self, result, ignore_errors=False): self._dump(result, "failed")
    def v2_runner_on_skipped(self, result): self._dump(result, "skipped")
'''


def env_values(tmp):
    uid, gid = os.geteuid(), os.getegid()
    import grp
    import pwd
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    um = os.umask(0)
    os.umask(um)
    return {"tmp": tmp, "uid": uid, "gid": gid, "user": user, "group": group,
            "default_file_mode": "0%03o" % (0o666 & ~um), "default_dir_mode": "0%03o" % (0o777 & ~um)}


def subst(v, e):
    if isinstance(v, str):
        if v in ("{{uid}}", "{{gid}}"):
            return e[v[2:-2]]
        if v.startswith("{{localtime:") and v.endswith("}}"):
            return int(time.mktime(time.strptime(v[12:-2], "%Y-%m-%d %H:%M:%S")))
        for k in ("tmp", "user", "group", "uid", "gid", "default_file_mode", "default_dir_mode"):
            v = v.replace("{{%s}}" % k, str(e[k]))
        return v
    if isinstance(v, list):
        return [subst(x, e) for x in v]
    if isinstance(v, dict):
        return {subst(k, e): subst(x, e) for k, x in v.items()}
    return v


def content_of(v):
    if isinstance(v, str):
        return v.encode()
    if "hex" in v:
        return bytes.fromhex(v["hex"])
    return (v["repeat"] * v["times"]).encode()


def setup(tmp, entries, e):
    for s in entries:
        p = os.path.join(tmp, subst(s["path"], e))
        t = s.get("type", "file")
        if t == "file":
            with open(p, "wb") as f:
                f.write(content_of(s.get("content", "")))
        elif t == "directory":
            os.makedirs(p, exist_ok=True)
        elif t == "link":
            os.symlink(subst(s["target"], e), p)
        elif t == "hard":
            os.link(os.path.join(tmp, s["target"]), p)
        if "mode" in s:
            os.chmod(p, int(s["mode"], 8))
        if "mtime" in s:
            os.utime(p, (s["mtime"], s["mtime"]))


def matches(exp, act, present=True):
    if isinstance(exp, str):
        if exp == "<absent>":
            return not present
        if exp == "<any>":
            return present
        if exp == "<number>":
            return present and isinstance(act, (int, float)) and not isinstance(act, bool)
        if exp.startswith("<prefix:") and exp.endswith(">"):
            return present and isinstance(act, str)
        if exp.startswith("<contains:") and exp.endswith(">"):
            return present and isinstance(act, str) and exp[10:-1] in act
    if not present:
        return False
    if isinstance(exp, dict) and isinstance(act, dict):
        return all(matches(v, act.get(k), k in act) for k, v in exp.items()) and all(k in exp for k in act)
    if isinstance(exp, list) and isinstance(act, list):
        return len(exp) == len(act) and all(matches(x, y) for x, y in zip(exp, act))
    if isinstance(exp, (int, float)) and isinstance(act, (int, float)) and not isinstance(exp, bool):
        return float(exp) == float(act)
    return exp == act


def lookup(r, key):
    cur, present = r, True
    for part in key.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return None, False
    return cur, present


def compare(what, exp, status, r, errs, notes):
    failed = status == "failed"
    if failed != exp.get("failed", False):
        errs.append("%s: failed=%s, expected %s: %s" % (what, failed, exp.get("failed", False), json.dumps(r)))
        return
    if "changed" in exp and r.get("changed", False) != exp["changed"]:
        errs.append("%s: changed=%s, expected %s: %s" % (what, r.get("changed"), exp["changed"], json.dumps(r)))
    if (status == "skipped" or r.get("skipped", False)) != exp.get("skipped", False):
        errs.append("%s: skipped mismatch (%s)" % (what, status))
    if "msg" in exp and not matches(exp["msg"], r.get("msg"), "msg" in r):
        errs.append("%s: msg %r, expected %r" % (what, r.get("msg"), exp["msg"]))
    for k, v in exp.get("result", {}).items():
        got, present = lookup(r, k)
        if not matches(v, got, present):
            # Rustle reports a shipped source by the path the task gave;
            # Ansible by the controller's absolute path of it.
            if k == "diff" and "after_header" in json.dumps(got):
                notes.append("%s: diff (controller path in after_header?): %s" % (what, json.dumps(got)))
                continue
            if k == "src" and isinstance(got, str) and isinstance(v, str) and got.endswith("/" + v):
                notes.append("%s: src is the controller path %s" % (what, got))
                continue
            errs.append("%s: result[%s] = %s, expected %s" % (what, k, json.dumps(got) if present else "<absent>", json.dumps(v)))


def check_fs(tmp, fsx, errs):
    for rel, spec in fsx.items():
        p = os.path.join(tmp, rel)
        t = spec.get("type", "file")
        if not os.path.lexists(p):
            actual = "absent"
        elif os.path.islink(p):
            actual = "link"
        elif os.path.isdir(p):
            actual = "directory"
        else:
            actual = "file"
        if actual != t:
            errs.append("fs %s: is %s, expected %s" % (rel, actual, t))
            continue
        if actual == "absent":
            continue
        st = os.lstat(p)
        if "content" in spec:
            with open(p, "rb") as f:
                if f.read() != content_of(spec["content"]):
                    errs.append("fs %s: content differs" % rel)
        if "mode" in spec and stat.S_IMODE(st.st_mode) != int(spec["mode"], 8):
            errs.append("fs %s: mode %o, expected %s" % (rel, stat.S_IMODE(st.st_mode), spec["mode"]))
        if "target" in spec and os.readlink(p) != spec["target"]:
            errs.append("fs %s: target %s" % (rel, os.readlink(p)))
        if "mtime" in spec and int(os.stat(p).st_mtime) != spec["mtime"]:
            errs.append("fs %s: mtime %s" % (rel, os.stat(p).st_mtime))
        if "entries" in spec and sorted(os.listdir(p)) != sorted(spec["entries"]):
            errs.append("fs %s: entries %s" % (rel, sorted(os.listdir(p))))
        if "same_as" in spec and not os.path.samefile(p, os.path.join(tmp, spec["same_as"])):
            errs.append("fs %s: not same file as %s" % (rel, spec["same_as"]))


def run_case(module, case):
    if case.get("requires_root") and os.geteuid() != 0:
        return None, []
    ctrl = tempfile.mkdtemp(prefix="ctrl")
    tmp = os.path.realpath(tempfile.mkdtemp())
    e = env_values(tmp)
    try:
        setup(tmp, case.get("setup", []), e)
        args = subst(case.get("args", {}), e)
        src_mode = args.pop("_src_mode", None)
        for name, content in case.get("assets", {}).items():
            src = args.get("src", "")
            if name == "src":
                if "content" in args:
                    # Content shipped as an asset: Ansible gets it inline.
                    args["content"] = content_of(content).decode()
                    continue
                path = os.path.join(ctrl, src)
            else:
                path = os.path.join(ctrl, src.rstrip("/"), name[len("src/"):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content_of(content))
            if src_mode:
                os.chmod(path, int(src_mode, 8))
        if "_raw_params" in args:
            raw = args.pop("_raw_params")
            task = {module: raw}
            if args:
                task["args"] = args
        else:
            task = {module: args}
        results = []
        for check in (True, False, False):
            play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
                     "tasks": [dict(task, check_mode=check, diff=True)]}]
            pb = os.path.join(ctrl, "pb.yml")
            with open(pb, "w") as f:
                json.dump(play, f)
            rf = os.path.join(ctrl, "result.jsonl")
            if os.path.exists(rf):
                os.remove(rf)
            envv = dict(os.environ, RESULT_FILE=rf, ANSIBLE_CALLBACK_PLUGINS=os.path.join(ctrl, "cb"),
                        ANSIBLE_STDOUT_CALLBACK="dumpjson", ANSIBLE_LOCALHOST_WARNING="0",
                        ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
            os.makedirs(os.path.join(ctrl, "cb"), exist_ok=True)
            with open(os.path.join(ctrl, "cb", "dumpjson.py"), "w") as f:
                f.write(CALLBACK)
            subprocess.run([os.path.join(ANSIBLE, "ansible-playbook"), pb], env=envv, cwd=ctrl,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(rf) as f:
                line = json.loads(f.readline())
            results.append(line)
            if check is False and len(results) == 2:
                # The file system is checked after the first real run.
                exp = subst(case["expect"], e)
                errs_fs = []
                check_fs(tmp, exp.get("fs", {}), errs_fs)
                results[-1]["fs_errs"] = errs_fs
        exp = subst(case["expect"], e)
        chk = {k: v for k, v in exp.items() if k not in ("result", "msg", "fs", "diff")}
        chk.update(subst(case.get("check_expect", {}), e))
        errs, notes = [], []
        compare("check mode", chk, results[0]["status"], results[0]["result"], errs, notes)
        compare("run", exp, results[1]["status"], results[1]["result"], errs, notes)
        errs.extend(results[1]["fs_errs"])
        r2 = results[2]
        if results[1]["status"] == "failed":
            if r2["status"] != "failed" or r2["result"].get("msg") != results[1]["result"].get("msg"):
                errs.append("second run: expected the same failure")
        elif case.get("idempotent", True):
            if r2["result"].get("changed"):
                errs.append("second run: changed")
        elif not r2["result"].get("changed"):
            errs.append("second run: expected changed")
        return errs, notes
    finally:
        shutil.rmtree(ctrl, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    sel = sys.argv[1:]
    total = bad = 0
    for path in sorted(glob.glob(os.path.join(CASES, "*", "*.json"))):
        module = os.path.basename(os.path.dirname(path))
        name = os.path.splitext(os.path.basename(path))[0]
        if sel and module not in sel and "%s/%s" % (module, name) not in sel:
            continue
        with open(path) as f:
            case = json.load(f)
        errs, notes = run_case(module, case)
        if errs is None:
            print("SKIP %s/%s (root only)" % (module, name))
            continue
        total += 1
        if errs:
            bad += 1
            print("DIFF %s/%s\n    %s" % (module, name, "\n    ".join(errs)))
        else:
            print("ok   %s/%s" % (module, name))
        for n in notes:
            print("     note: " + n)
    print("%d cases, %d differ from Ansible" % (total, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
