#!/usr/bin/env python3
"""Records what real Ansible (ansible-core 2.18) does with the expressions in
CASES, into recorded.json next to this script.

Usage: record.py [--out FILE]   (run with any python3; the venv is found from
RUSTLE_ANSIBLE_VENV or <workspace>/.venv)

Each case becomes a task of a generated playbook:
  template: `debug: msg=<input>` (the task args are templated with Templar.template)
  when:     `debug: msg=ok` with `when: <input>` (ok -> true, skipped -> false)
Results are captured by a tiny stdout callback plugin (written to a temp dir).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(HERE, "fixtures")

UNSAFE = "__ansible_unsafe"

VARS = {
    "n": 5,
    "f": 1.5,
    "s": "hello world",
    "t": True,
    "fl": False,
    "none_v": None,
    "lst": [1, 2, 3],
    "slst": ["b", "a", "C", "a"],
    "mixed": [1, "a", None, True],
    "d": {"a": 1, "b": {"c": 2}, "l": [1, 2]},
    "users": [
        {"name": "alice", "age": 30, "admin": True, "groups": ["wheel", "dev"]},
        {"name": "bob", "age": 25, "admin": False, "groups": ["dev"]},
        {"name": "carol", "age": 35, "admin": True, "groups": []},
    ],
    "nested_t": "{{ s | upper }}",
    "ref_n": "{{ n }}",
    "ref_lst": "{{ lst }}",
    "chain1": "{{ chain2 }}",
    "chain2": "{{ n + 1 }}",
    "cyc_a": "{{ cyc_b }}",
    "cyc_b": "{{ cyc_a }}",
    "undef_ref": "{{ nosuchvar }}",
    "str_false": "False",
    "str_no": "no",
    "str_yes": "yes",
    "empty": "",
    "zero": 0,
    "unsafe_v": {UNSAFE: "{{ not templated }}"},
    "path": "/etc/ansible/hosts.cfg",
    "ver": "1.2.10",
    "multiline": "line1\nline2\n",
    "json_s": '{"a": [1, 2], "b": null}',
    "yaml_s": "a: 1\nb: [x, y]\n",
    "tpl_list": ["{{ n }}", "x{{ n }}", "{{ s }}"],
    "tpl_dict": {"k": "{{ n * 2 }}", "u": "{{ s }}"},
    "num_str": "42",
    "list_str": "[1, 2]",
    "results_ok": {"changed": True, "failed": False, "rc": 0},
    "results_fail": {"failed": True, "msg": "boom"},
    "results_skip": {"skipped": True, "changed": False},
    "loop_res": {"results": [{"changed": False}, {"changed": True}]},
    "url": "https://user:pw@example.com:8080/path/x?q=1#frag",
    "keyed": {"x": 1, "y": 2},
    "unicode": "h\u00e9llo",
    "quote_s": "it's",
    "spaces": "  padded  ",
    "tpl_true": "{{ 1 == 1 }}",
    "tpl_false_s": "{{ 'False' }}",
}

# (kind, input, flags). flags: "msg" compare the error message exactly,
# "nondet" only compare success and type.
T = "template"
W = "when"
CASES = [
    # native types / concat rules
    (T, "{{ 1 + 1 }}", ""),
    (T, "{{ n }}", ""),
    (T, "{{ f }}", ""),
    (T, "{{ t }}", ""),
    (T, "{{ none_v }}", ""),
    (T, "x{{ none_v }}", ""),
    (T, "{{ None }}", ""),
    (T, "{{ '1' }}", ""),
    (T, "{{ 'yes' }}", ""),
    (T, "{{ [1,2] }}", ""),
    (T, "{{ lst }}", ""),
    (T, "{{ d }}", ""),
    (T, "{{ True }}", ""),
    (T, "{{ 'True' }}", ""),
    (T, "{{ 'true' }}", ""),
    (T, "a {{ n }}", ""),
    (T, "{{ n }} ", ""),
    (T, "{{ n }}\n", ""),
    (T, "{{ s }}\n\n", ""),
    (T, "{{ lst }}\n", ""),
    (T, "{% raw %}{{ n }}{% endraw %}", ""),
    (T, "{{ '{{ n }}' }}", ""),
    (T, "{{ 1.0 }}", ""),
    (T, "{{ 10 / 4 }}", ""),
    (T, "{{ 10 // 4 }}", ""),
    (T, "{{ -7 % 3 }}", ""),
    (T, "{{ 2 ** 10 }}", ""),
    (T, "{{ 1e20 }}", ""),
    (T, "{{ 0.1 + 0.2 }}", ""),
    (T, "{{ mixed }}", ""),
    (T, "{{ [1, 'a', none_v, t] }}", ""),
    (T, "{{ {'a': 1} }}", ""),
    (T, "{{ d.b }}", ""),
    (T, "{{ d['b']['c'] }}", ""),
    (T, "{{ d.l[1] }}", ""),
    (T, "{{ lst[-1] }}", ""),
    (T, "{{ lst[1:] }}", ""),
    (T, "{{ s[0:5] }}", ""),
    (T, "{{ s[::-1] }}", ""),
    (T, "{{ 'a' ~ n ~ 'b' }}", ""),
    (T, "{{ 'a' + 'b' }}", ""),
    (T, "{{ lst + [4] }}", ""),
    (T, "{{ 3 in lst }}", ""),
    (T, "{{ 'x' not in s }}", ""),
    (T, "{{ n > 3 and t }}", ""),
    (T, "{{ not fl }}", ""),
    (T, "{{ n if t else 0 }}", ""),
    (T, "{{ 'big' if n > 10 else 'small' }}", ""),
    (T, "{{ unicode }}", ""),
    (T, "{{ quote_s }}", ""),
    (T, "{{ [quote_s] }}", ""),
    (T, "{{ list_str }}", ""),
    (T, "{{ num_str }}", ""),
    (T, "{{ '[' ~ 'x' ~ ']' }}", ""),
    (T, "{{ '{' }}", ""),
    (T, "plain string", ""),
    (T, "", ""),
    (T, ["{{ n }}", "{{ s }}", 3], ""),
    (T, {"a": "{{ n }}", "b": ["{{ lst }}"]}, ""),
    (T, "{# comment #}x", ""),
    (T, "{% if n > 3 %}yes{% else %}no{% endif %}", ""),
    (T, "{% for i in lst %}{{ i }},{% endfor %}", ""),
    (T, "{% for i in lst %}\n{{ i }}\n{% endfor %}", ""),
    (T, "{% set x = 3 %}{{ x * 2 }}", ""),
    (T, "{% for k, v in keyed.items() %}{{ k }}={{ v }};{% endfor %}", ""),
    (T, "{{ loop_res.results | map(attribute='changed') | list }}", ""),
    # lazy vars
    (T, "{{ nested_t }}", ""),
    (T, "{{ ref_n }}", ""),
    (T, "{{ ref_n + 1 }}", "msg"),
    (T, "{{ ref_lst }}", ""),
    (T, "{{ ref_lst | length }}", ""),
    (T, "{{ chain1 }}", ""),
    (T, "{{ tpl_list }}", ""),
    (T, "{{ tpl_dict }}", ""),
    (T, "{{ tpl_dict.k }}", ""),
    (T, "{{ unsafe_v }}", ""),
    (T, "{{ tpl_true }}", ""),
    (T, "{{ cyc_a }}", ""),
    (T, "{{ undef_ref is defined }}", ""),
    (T, "{{ undef_ref | default('dflt') }}", ""),
    (T, "{{ vars['n'] }}", ""),
    (T, "{{ vars['nested_t'] }}", ""),
    # undefined
    (T, "{{ foo }}", "msg"),
    (T, "{{ foo.bar }}", "msg"),
    (T, "{{ d.nope }}", "msg"),
    (T, "{{ d.b.nope }}", "msg"),
    (T, "{{ lst.bar }}", "msg"),
    (T, "{{ lst[10] }}", "msg"),
    (T, "x {{ foo }} y", "msg"),
    (T, "{{ foo | upper }}", "msg"),
    (T, "{{ foo is defined }}", ""),
    (T, "{{ foo is undefined }}", ""),
    (T, "{{ foo.bar is defined }}", ""),
    (T, "{{ d.nope.deeper is defined }}", ""),
    (T, "{{ foo.bar | default(1) }}", ""),
    (T, "{{ d.nope.x | default('z') }}", ""),
    (T, "{{ foo | default(omit) == omit }}", ""),
    (T, "{{ none_v | default('x') }}", ""),
    (T, "{{ none_v | default('x', true) }}", ""),
    (T, "{{ empty | default('x', true) }}", ""),
    (T, "{{ empty | d('x') }}", ""),
    (T, "{{ undef_ref }}", "msg"),
    (T, "{{ foo | mandatory }}", ""),
    # errors
    (T, "{{ 1 | nofilt }}", "msg"),
    (T, "{{ 1 is notest }}", ""),
    (T, "{{ 1 + }}", ""),
    (T, "{{ 1 + 'a' }}", ""),
    (T, "{{ n.foo() }}", ""),
    (T, "{% for %}", ""),
    # string methods / python-isms
    (T, "{{ s.split() }}", ""),
    (T, "{{ 'a,b,c'.split(',') }}", ""),
    (T, "{{ 'a,b,c'.split(',', 1) }}", ""),
    (T, "{{ s.startswith('hell') }}", ""),
    (T, "{{ s.endswith(('x', 'ld')) }}", ""),
    (T, "{{ spaces.strip() }}", ""),
    (T, "{{ spaces.lstrip() }}", ""),
    (T, "{{ s.replace('l', 'L') }}", ""),
    (T, "{{ s.upper() }}", ""),
    (T, "{{ s.title() }}", ""),
    (T, "{{ s.capitalize() }}", ""),
    (T, "{{ '-'.join(['a', 'b']) }}", ""),
    (T, "{{ '{} and {}'.format('a', 1) }}", ""),
    (T, "{{ '{0}-{x}'.format('a', x=2) }}", ""),
    (T, "{{ s.find('o') }}", ""),
    (T, "{{ s.count('l') }}", ""),
    (T, "{{ '42'.isdigit() }}", ""),
    (T, "{{ '5'.zfill(3) }}", ""),
    (T, "{{ keyed.keys() | list }}", ""),
    (T, "{{ keyed.values() | list }}", ""),
    (T, "{{ keyed.items() | list }}", ""),
    (T, "{{ keyed.get('x') }}", ""),
    (T, "{{ keyed.get('zz', 'dflt') }}", ""),
    (T, "{{ keyed.get('zz') }}", ""),
    (T, "{{ lst.index(2) }}", ""),
    (T, "{{ '%s-%d' % ('a', 3) }}", ""),
    (T, "{{ '%05.2f' % f }}", ""),
    (T, "{{ '%s' % lst }}", ""),
    (T, "{{ '%(a)s!' % {'a': 'x'} }}", ""),
    (T, "{{ 'x=%s' % n ~ '!' }}", ""),
    (T, "{{ '%x' % 255 }}", ""),
    (T, "{{ 7 % 3 }}", ""),
    (T, "{{ '%-5s|' % 'ab' }}", ""),
    # filters: core
    (T, "{{ 'no' | bool }}", ""),
    (T, "{{ 'yes' | bool }}", ""),
    (T, "{{ 'True' | bool }}", ""),
    (T, "{{ 1 | bool }}", ""),
    (T, "{{ 'foo' | bool }}", ""),
    (T, "{{ '42' | int }}", ""),
    (T, "{{ '4.7' | int }}", ""),
    (T, "{{ 'abc' | int }}", ""),
    (T, "{{ 'abc' | int(7) }}", ""),
    (T, "{{ '0x1A' | int(base=16) }}", ""),
    (T, "{{ 3.9 | int }}", ""),
    (T, "{{ '3.5' | float }}", ""),
    (T, "{{ 'x' | float }}", ""),
    (T, "{{ 3 | float }}", ""),
    (T, "{{ lst | string }}", ""),
    (T, "{{ 5 | string }}", ""),
    (T, "{{ none_v | string }}", ""),
    (T, "{{ s | upper }}", ""),
    (T, "{{ 'ABC' | lower }}", ""),
    (T, "{{ 'hello WORLD' | capitalize }}", ""),
    (T, "{{ 'hello big-world (x)' | title }}", ""),
    (T, "{{ s | replace('o', '0') }}", ""),
    (T, "{{ s | replace('o', '0', 1) }}", ""),
    (T, "{{ s | length }}", ""),
    (T, "{{ lst | count }}", ""),
    (T, "{{ d | length }}", ""),
    (T, "{{ lst | first }}", ""),
    (T, "{{ lst | last }}", ""),
    (T, "{{ s | first }}", ""),
    (T, "{{ lst | join(',') }}", ""),
    (T, "{{ mixed | join('|') }}", ""),
    (T, "{{ users | map(attribute='name') | join(', ') }}", ""),
    (T, "{{ lst | map('string') | list }}", ""),
    (T, "{{ slst | map('upper') | list }}", ""),
    (T, "{{ users | selectattr('admin') | map(attribute='name') | list }}", ""),
    (T, "{{ users | rejectattr('admin') | map(attribute='name') | list }}", ""),
    (T, "{{ users | selectattr('age', 'gt', 28) | map(attribute='name') | list }}", ""),
    (T, "{{ users | selectattr('name', 'equalto', 'bob') | first }}", ""),
    (T, "{{ users | selectattr('name', 'match', '^c') | list | length }}", ""),
    (T, "{{ lst | select('odd') | list }}", ""),
    (T, "{{ lst | reject('odd') | list }}", ""),
    (T, "{{ lst | select('gt', 1) | list }}", ""),
    (T, "{{ slst | sort }}", ""),
    (T, "{{ slst | sort(reverse=true) }}", ""),
    (T, "{{ slst | sort(case_sensitive=true) }}", ""),
    (T, "{{ users | sort(attribute='age') | map(attribute='name') | list }}", ""),
    (T, "{{ slst | unique }}", ""),
    (T, "{{ [[1, [2]], 3, [4, [5, [6]]]] | flatten }}", ""),
    (T, "{{ [[1, [2]], 3, [4, [5, [6]]]] | flatten(levels=1) }}", ""),
    (T, "{{ [1, none_v, [2]] | flatten }}", ""),
    (T, "{{ t | ternary('yes', 'no') }}", ""),
    (T, "{{ fl | ternary('yes', 'no') }}", ""),
    (T, "{{ none_v | ternary('yes', 'no', 'null') }}", ""),
    (T, "{{ s | type_debug }}", ""),
    (T, "{{ lst | type_debug }}", ""),
    (T, "{{ n | type_debug }}", ""),
    (T, "{{ d | type_debug }}", ""),
    (T, "{{ none_v | type_debug }}", ""),
    (T, "{{ d | to_json }}", ""),
    (T, "{{ unicode | to_json }}", ""),
    (T, "{{ [1.0, none_v, t] | to_json }}", ""),
    (T, "{{ d | to_nice_json }}", ""),
    (T, "{{ d | to_nice_json(indent=2) }}", ""),
    (T, "{{ json_s | from_json }}", ""),
    (T, "{{ (json_s | from_json).a }}", ""),
    (T, "{{ d | to_yaml }}", ""),
    (T, "{{ d | to_nice_yaml }}", ""),
    (T, "{{ users | to_nice_yaml(indent=2) }}", ""),
    (T, "{{ 'abc' | to_yaml }}", ""),
    (T, "{{ {'k': 'yes', 'e': '', 'n': '12', 'c': 'a: b'} | to_yaml }}", ""),
    (T, "{{ yaml_s | from_yaml }}", ""),
    (T, "{{ '---\na: 1\n---\nb: 2\n' | from_yaml_all | list }}", ""),
    (T, "{{ d | combine({'a': 9, 'z': 0}) }}", ""),
    (T, "{{ d | combine({'b': {'x': 1}}) }}", ""),
    (T, "{{ d | combine({'b': {'x': 1}}, recursive=true) }}", ""),
    (T, "{{ d | combine({'l': [3]}, list_merge='append') }}", ""),
    (T, "{{ {'a': 1} | combine({'b': 2}, {'c': 3}) }}", ""),
    (T, "{{ keyed | dict2items }}", ""),
    (T, "{{ keyed | dict2items(key_name='k', value_name='v') }}", ""),
    (T, "{{ [{'key': 'a', 'value': 1}] | items2dict }}", ""),
    (T, "{{ lst | zip(['a', 'b']) | list }}", ""),
    (T, "{{ lst | zip_longest(['a'], fillvalue='-') | list }}", ""),
    (T, "{{ [1, 2, 3] | union([3, 4]) }}", ""),
    (T, "{{ [1, 2, 3] | intersect([2, 3, 4]) }}", ""),
    (T, "{{ [1, 2, 3] | difference([2]) }}", ""),
    (T, "{{ [1, 2, 3] | symmetric_difference([3, 4]) }}", ""),
    (T, "{{ lst | min }}", ""),
    (T, "{{ lst | max }}", ""),
    (T, "{{ users | max(attribute='age') }}", ""),
    (T, "{{ lst | sum }}", ""),
    (T, "{{ users | sum(attribute='age') }}", ""),
    (T, "{{ users | subelements('groups') | map('last') | list }}", ""),
    (T, "{{ [1, 2] | product(['a', 'b']) | list }}", ""),
    (T, "{{ [1, 2, 3] | permutations(2) | list }}", ""),
    (T, "{{ [1, 2, 3] | combinations(2) | list }}", ""),
    (T, "{{ lst | random in lst }}", ""),
    (T, "{{ lst | shuffle | sort }}", ""),
    (T, "{{ users | groupby('admin') | map('first') | list }}", ""),
    (T, "{{ keyed | dictsort }}", ""),
    (T, "{{ lst | batch(2) | list }}", ""),
    (T, "{{ lst | slice(2) | list }}", ""),
    (T, "{{ keyed | items | list }}", ""),
    (T, "{{ s | list }}", ""),
    (T, "{{ lst | reverse | list }}", ""),
    (T, "{{ -3 | abs }}", ""),
    (T, "{{ 2.567 | round(1) }}", ""),
    (T, "{{ 2.5 | round }}", ""),
    (T, "{{ 'x' | center(5) }}", ""),
    (T, "{{ spaces | trim }}", ""),
    (T, "{{ 'a\nb' | indent(2) }}", ""),
    (T, "{{ 'a\nb' | indent(2, true) }}", ""),
    (T, "{{ 'the quick brown fox' | wordwrap(10) }}", ""),
    (T, "{{ 'hello world foo' | truncate(9) }}", ""),
    (T, "{{ 'a b c' | wordcount }}", ""),
    (T, "{{ '%s=%s' | format('a', 1) }}", ""),
    (T, "{{ users | map(attribute='name') | map('regex_replace', '^(.)', '\\\\1!') | list }}", ""),
    # regex
    (T, "{{ 'abc123' | regex_replace('[0-9]+', 'X') }}", ""),
    (T, "{{ 'foo.bar' | regex_replace('^(\\\\w+)\\\\.(\\\\w+)$', '\\\\2.\\\\1') }}", ""),
    (T, "{{ 'aaa' | regex_replace('a', 'b', count=2) }}", ""),
    (T, "{{ 'ABC' | regex_replace('b', 'x', ignorecase=true) }}", ""),
    (T, "{{ 'ab12cd34' | regex_search('[0-9]+') }}", ""),
    (T, "{{ 'ab12cd34' | regex_search('x') }}", ""),
    (T, "{{ 'key=val' | regex_search('(\\\\w+)=(\\\\w+)', '\\\\2') }}", ""),
    (T, "{{ 'key=val' | regex_search('(?P<k>\\\\w+)=(\\\\w+)', '\\\\g<k>', '\\\\2') }}", ""),
    (T, "{{ 'ab12cd34' | regex_findall('[0-9]+') }}", ""),
    (T, "{{ 'a=1 b=2' | regex_findall('(\\\\w)=(\\\\d)') }}", ""),
    (T, "{{ 'a.b*c' | regex_escape }}", ""),
    (T, "{{ 'foo.bar' | regex_replace('^(\\w+)\\.(\\w+)$', '\\2.\\1') }}", ""),
    (T, "{{ 'abc' | regex_replace('(b)', '[\\1]') }}", ""),
    (T, "{{ 'abc' | regex_replace('(?P<x>b)', '<\\g<x>>') }}", ""),
    (T, "{{ 'key=val' | regex_search('(\\w+)=(\\w+)', '\\2') }}", ""),
    (T, "{{ 'key=val' | regex_search('(?P<k>\\w+)=(\\w+)', '\\g<k>', '\\2') }}", ""),
    (T, "{{ 'a=1 b=2' | regex_findall('(\\w)=(\\d)') }}", ""),
    (T, "{{ 'a\\nb' }}", ""),
    (T, "C:\\temp {{ n }}", ""),
    # paths
    (T, "{{ path | basename }}", ""),
    (T, "{{ path | dirname }}", ""),
    (T, "{{ path | splitext }}", ""),
    (T, "{{ '/a/b/../c/./d' | normpath }}", ""),
    (T, "{{ ['/etc', 'ansible', 'x.cfg'] | path_join }}", ""),
    (T, "{{ ['a', '/b', 'c'] | path_join }}", ""),
    (T, "{{ '/etc/ansible/x' | relpath('/etc') }}", ""),
    (T, "{{ 'bare' | dirname }}", ""),
    (T, "{{ '/' | basename }}", ""),
    # encoding / hashing
    (T, "{{ 'hello' | b64encode }}", ""),
    (T, "{{ 'aGVsbG8=' | b64decode }}", ""),
    (T, "{{ 'hello' | hash('md5') }}", ""),
    (T, "{{ 'hello' | hash('sha256') }}", ""),
    (T, "{{ 'hello' | checksum }}", ""),
    (T, "{{ 'hello' | md5 }}", ""),
    (T, "{{ 'hello' | sha1 }}", ""),
    # password_hash needs passlib/crypt in the venv: covered by unit tests
    (T, "{{ 'example.com' | to_uuid }}", ""),
    (T, "{{ quote_s | quote }}", ""),
    (T, "{{ 'simple' | quote }}", ""),
    (T, "{{ 'a b' | quote }}", ""),
    (T, "{{ 'text' | comment }}", ""),
    (T, "{{ 'text' | comment('c') }}", ""),
    (T, "{{ url | urlsplit('hostname') }}", ""),
    (T, "{{ url | urlsplit('port') }}", ""),
    (T, "{{ url | urlsplit }}", ""),
    (T, "{{ 'a b&c' | urlencode }}", ""),
    (T, "{{ {'a': 'x y', 'b': 1} | urlencode }}", ""),
    (T, "{{ 'a%20b' | urldecode }}", ""),
    (T, "{{ 1048576 | human_readable }}", ""),
    (T, "{{ 1500 | human_readable }}", ""),
    (T, "{{ '1 MB' | human_to_bytes }}", ""),
    (T, "{{ '10K' | human_to_bytes }}", ""),
    (T, "{{ 'a' | extract({'a': 1}) }}", ""),
    (T, "{{ [0, 2] | map('extract', ['x', 'y', 'z']) | list }}", ""),
    (T, "{{ 'a,b' | split(',') }}", ""),
    (T, "{{ 8 | log(2) }}", ""),
    (T, "{{ 2 | pow(3) }}", ""),
    (T, "{{ 16 | root }}", ""),
    # tests
    (T, "{{ none_v is none }}", ""),
    (T, "{{ n is number }}", ""),
    (T, "{{ t is number }}", ""),
    (T, "{{ n is integer }}", ""),
    (T, "{{ f is float }}", ""),
    (T, "{{ t is boolean }}", ""),
    (T, "{{ s is string }}", ""),
    (T, "{{ d is mapping }}", ""),
    (T, "{{ lst is sequence }}", ""),
    (T, "{{ s is sequence }}", ""),
    (T, "{{ s is iterable }}", ""),
    (T, "{{ n is iterable }}", ""),
    (T, "{{ 'yes' is truthy }}", ""),
    (T, "{{ '' is falsy }}", ""),
    (T, "{{ 'no' is truthy(convert_bool=true) }}", ""),
    (T, "{{ lst is contains(2) }}", ""),
    (T, "{{ 2 is in(lst) }}", ""),
    (T, "{{ s is match('hel') }}", ""),
    (T, "{{ s is match('world') }}", ""),
    (T, "{{ s is search('world') }}", ""),
    (T, "{{ s is regex('WOR', ignorecase=true) }}", ""),
    (T, "{{ n is equalto(5) }}", ""),
    (T, "{{ n is divisibleby(5) }}", ""),
    (T, "{{ n is odd }}", ""),
    (T, "{{ ver is version('1.2.9', '>') }}", ""),
    (T, "{{ ver is version('1.10', 'lt') }}", ""),
    (T, "{{ ver is version_compare('1.2.10', '==') }}", ""),
    (T, "{{ '1.0.0-rc.1' is version('1.0.0', '<', version_type='semver') }}", ""),
    (T, "{{ '1.2' is version('1.2.0', 'eq', strict=true) }}", ""),
    (T, "{{ '2.0a1' is version('2.0', '<', version_type='strict') }}", ""),
    (T, "{{ ver is version('1.2.10', 'bogus') }}", ""),
    (T, "{{ [1, 2] is subset([1, 2, 3]) }}", ""),
    (T, "{{ [1, 2, 3] is superset([1, 2]) }}", ""),
    (T, "{{ results_ok is succeeded }}", ""),
    (T, "{{ results_ok is changed }}", ""),
    (T, "{{ results_fail is failed }}", ""),
    (T, "{{ results_skip is skipped }}", ""),
    (T, "{{ loop_res is changed }}", ""),
    (T, "{{ results_ok is finished }}", ""),
    (T, "{{ results_ok is success }}", ""),
    (T, "{{ '/etc' is directory }}", ""),
    (T, "{{ '/etc/hostname' is file }}", ""),
    (T, "{{ '/nonexistent' is exists }}", ""),
    (T, "{{ '/etc' is abs }}", ""),
    (T, "{{ 'rel/x' is abs }}", ""),
    (T, "{{ [true, 1] is all }}", ""),
    (T, "{{ [false, 0] is any }}", ""),
    (T, "{{ 'a' is lower }}", ""),
    (T, "{{ n is defined and n is not none }}", ""),
    # lookups
    (T, "{{ lookup('env', 'RUSTLE_TEST_ENV') }}", ""),
    (T, "{{ lookup('env', 'RUSTLE_NO_SUCH_ENV') }}", ""),
    (T, "{{ lookup('env', 'RUSTLE_NO_SUCH_ENV', default='dflt') }}", ""),
    (T, "{{ lookup('file', 'hello.txt') }}", ""),
    (T, "{{ lookup('file', 'nosuch.txt') }}", "msg"),
    (T, "{{ lookup('file', 'nosuch.txt', errors='ignore') }}", ""),
    (T, "{{ lookup('template', 't.j2') }}", ""),
    (T, "{{ lookup('template', 'list.j2') }}", ""),
    (T, "{{ lookup('pipe', 'echo hi') }}", ""),
    (T, "{{ lookup('pipe', 'echo [1,2]') }}", ""),
    (T, "{{ lookup('lines', 'printf \"a\\nb\\n\"') }}", ""),
    (T, "{{ query('lines', 'printf \"a\\nb\\n\"') }}", ""),
    (T, "{{ lookup('items', [1, 2]) }}", ""),
    (T, "{{ lookup('items', ['a', 'b']) }}", ""),
    (T, "{{ lookup('items', ['a', 'b'], wantlist=True) }}", ""),
    (T, "{{ query('items', [1, [2, 3]]) }}", ""),
    (T, "{{ q('list', 1, 2) }}", ""),
    (T, "{{ lookup('list', ['a']) }}", ""),
    (T, "{{ lookup('vars', 'n') }}", ""),
    (T, "{{ lookup('vars', 'nested_t') }}", ""),
    (T, "{{ lookup('vars', 'nosuch', default='d') }}", ""),
    (T, "{{ query('varnames', '^ref_') | sort }}", ""),
    (T, "{{ query('dict', keyed) }}", ""),
    (T, "{{ query('indexed_items', ['a', 'b']) }}", ""),
    (T, "{{ query('sequence', 'start=1 end=5') }}", ""),
    (T, "{{ query('sequence', 'start=0 end=10 stride=5 format=host%02d') }}", ""),
    (T, "{{ query('sequence', '4') }}", ""),
    (T, "{{ query('sequence', 'count=3') }}", ""),
    (T, "{{ query('together', [1, 2], ['a']) }}", ""),
    (T, "{{ query('nested', [1, 2], ['a', 'b']) }}", ""),
    (T, "{{ query('subelements', users, 'groups') | length }}", ""),
    (T, "{{ query('first_found', ['nosuch.txt', 'two.txt']) | map('basename') | list }}", ""),
    (T, "{{ query('first_found', ['nosuch.txt'], skip=True) }}", ""),
    (T, "{{ query('fileglob', '*.txt') | map('basename') | sort }}", ""),
    (T, "{{ lookup('config', 'DEFAULT_BECOME_USER') }}", ""),
    (T, "{{ lookup('random_choice', 'a', 'b') in ['a', 'b'] }}", ""),
    (T, "{{ lookup('nosuchlookup', 'x') }}", "msg"),
    (T, "{{ lookup('password', '/dev/null length=12') | length }}", ""),
    (T, "{{ lookup('password', '/dev/null chars=digits length=8') is match('^[0-9]{8}$') }}", ""),
    # omit
    (T, "{{ omit is string }}", ""),
    (T, "{{ omit.startswith('__omit_place_holder__') }}", ""),
    # more engine semantics
    (T, "{% if foo %}x{% endif %}", ""),
    (T, "{% for x in foo %}{{ x }}{% endfor %}", ""),
    (T, "{{ foo == 1 }}", ""),
    (T, "{{ foo if foo is defined else 'n' }}", ""),
    (T, "{{ (foo | default({})).bar | default(2) }}", ""),
    (T, "{{ lookup('items', []) }}", ""),
    (T, "{{ query('items', []) }}", ""),
    (T, "{{ [1, '2'] | map('int') | sum }}", ""),
    (T, "{{ '%s' % none_v }}", ""),
    (T, "{% set ns = namespace(x=1) %}{% set ns.x = 2 %}{{ ns.x }}", ""),
    (T, "{% for i in lst %}{{ loop.index }}{{ '' if loop.last else ',' }}{% endfor %}", ""),
    (T, "{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m(1) }}{{ m('x') }}", ""),
    (T, "{{ range(3) | list }}", ""),
    (T, "{{ range(1, 10, 3) | list }}", ""),
    (T, "{{ dict(a=1, b='x') }}", ""),
    (T, "{{ 'a' ~ none_v }}", ""),
    (T, "{{ none_v ~ '' }}", ""),
    (T, "{{- n -}}", ""),
    (T, "a\n{% if t -%}\n  x\n{%- endif %}\nb", ""),
    (T, "{% if t %}\n  x\n{% endif %}\n", ""),
    (T, "{{ '' }}", ""),
    (T, "{{ [] }}", ""),
    (T, "{{ {} }}", ""),
    (T, "{{ 0 }}", ""),
    (T, "{{ -1 }}", ""),
    (T, "{{ 1.5 | int }}", ""),
    (T, "{{ '1e3' | float }}", ""),
    (T, "{{ multiline }}", ""),
    (T, "{{ s | regex_replace('o', '0') | upper }}", ""),
    (T, "{{ users | map(attribute='groups') | flatten | unique | sort }}", ""),
    (T, "{{ users | map(attribute='name') | select('match', '^[ab]') | list }}", ""),
    (T, "{{ users | items2dict(key_name='name', value_name='age') }}", ""),
    (T, "{{ d.keys() | list | length }}", ""),
    (T, "{{ d['a'] is number }}", ""),
    (T, "{{ (lst | map('string') | list)[0] is string }}", ""),
    (T, "{{ lst | map('int') | list | max }}", ""),
    (T, "{{ lst | first | string + 'x' }}", ""),
    (T, "{{ s.split(' ')[1] | capitalize }}", ""),
    (T, "{{ s | truncate(5, true, '') }}", ""),
    (T, "{{ '%.3f' | format(f) }}", ""),
    (T, "{{ '{:>5}'.format('ab') }}", ""),
    (T, "{{ n | string | length }}", ""),
    (T, "{{ [n, f] | sum }}", ""),
    (T, "{{ n * f }}", ""),
    (T, "{{ n / 2 }}", ""),
    (T, "{{ (n / 2) | int }}", ""),
    (T, "{{ n // 2 }}", ""),
    (T, "{{ 'abc' * 2 }}", ""),
    (T, "{{ [0] * 3 }}", ""),
    (T, "{{ lst | length > 2 and 'yes' or 'no' }}", ""),
    (T, "{{ true }}", ""),
    (T, "{{ false | string }}", ""),
    (T, "{{ none }}", ""),
    (T, "{{ [none] }}", ""),
    (T, "{{ 'x' if none_v is none }}", ""),
    (T, "{{ 'x' if fl }}", ""),
    (T, "{{ d | dict2items | selectattr('key', 'eq', 'a') | map(attribute='value') | first }}", ""),
    (T, "{{ keyed | dict2items | items2dict }}", ""),
    (T, "{{ {'b': 1, 'a': 2} | dictsort }}", ""),
    (T, "{{ {'b': 1, 'a': 2} | to_nice_json }}", ""),
    (T, "{{ {'b': 1, 'a': 2} | to_json }}", ""),
    (T, "{{ {'b': 1, 'a': 2} | to_nice_yaml }}", ""),
    (T, "{{ {'k': 'multi\nline', 'q': \"it's\"} | to_yaml }}", ""),
    (T, "{{ ['a', 'b'] | to_yaml }}", ""),
    (T, "{{ 'x' | to_nice_yaml }}", ""),
    (T, "{{ 3 | to_yaml }}", ""),
    (T, "{{ unicode | to_nice_yaml }}", ""),
    (W, "foo is defined and foo", ""),
    (W, "foo | default(false)", ""),
    (W, "not (foo is defined)", ""),
    (W, "lst | length > 0 and lst[0] == 1", ""),
    (W, "item is defined", ""),
    (W, "d.b is mapping", ""),
    # conditionals
    (W, "n == 5", ""),
    (W, "n == 6", ""),
    (W, "t", ""),
    (W, "fl", ""),
    (W, "str_false", ""),
    (W, "str_no", ""),
    (W, "empty", ""),
    (W, "zero", ""),
    (W, "lst", ""),
    (W, "none_v", ""),
    (W, "tpl_true", ""),
    (W, "tpl_false_s", ""),
    (W, "foo is defined", ""),
    (W, "foo is not defined", ""),
    (W, "foo", "msg"),
    (W, "foo == 1", ""),
    (W, "d.nope is defined", ""),
    (W, "d.nope.x is defined", ""),
    (W, "d.b.c == 2", ""),
    (W, "'hello' in s", ""),
    (W, "s is search('wor')", ""),
    (W, "results_fail is failed", ""),
    (W, "ver is version('1.2', '>=')", ""),
    (W, "n > 3 and lst | length == 3", ""),
    (W, "users | selectattr('admin') | list | length > 1", ""),
    (W, "{{ n == 5 }}", ""),
    (W, "{{ t }}", ""),
    (W, "{{ str_false }}", ""),
    (W, True, ""),
    (W, False, ""),
    (W, ["n == 5", "t"], ""),
    (W, ["n == 5", "fl"], ""),
    (W, ["n == 5", True], ""),
    (W, "n % 2 == 1", ""),
    (W, "'%s' % n == '5'", ""),
    (W, "undef_ref is defined", ""),
    (W, "undef_ref", "msg"),
    (W, "ref_n | int > 4", ""),
    (W, "(n | string) == '5'", ""),
    (W, "lookup('env', 'RUSTLE_TEST_ENV') == 'hello'", ""),
    (W, "1 + ", ""),
]

CALLBACK = r'''
import json
from ansible.plugins.callback import CallbackBase
from ansible.module_utils.common.text.converters import to_text

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'rustle_recorder'

    def __init__(self):
        super().__init__()
        self.results = {}

    def _add(self, result, status):
        r = result._result
        self.results[result._task.get_name()] = {'status': status, 'msg': r.get('msg')}

    def v2_runner_on_ok(self, result):
        self._add(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._add(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._add(result, 'skipped')

    def v2_playbook_on_stats(self, stats):
        print("@@RESULTS@@" + json.dumps(self.results, default=to_text))
'''


def to_yaml(v):
    """JSON is YAML; unsafe markers become `!unsafe` scalars."""
    if isinstance(v, dict):
        if set(v) == {UNSAFE}:
            return "!unsafe " + json.dumps(v[UNSAFE])
        return "{" + ", ".join(json.dumps(k) + ": " + to_yaml(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(to_yaml(x) for x in v) + "]"
    return json.dumps(v)


def core_message(msg):
    if not isinstance(msg, str):
        return msg
    msg = msg.split("\n\nThe error appears to be in")[0]
    for p in ("The task includes an option with an undefined variable.. ",
              "The task includes an option with an undefined variable. The error was: "):
        if msg.startswith(p):
            msg = msg[len(p):]
    return msg


def main():
    out = os.path.join(HERE, "recorded.json")
    if "--out" in sys.argv:
        out = sys.argv[sys.argv.index("--out") + 1]
    venv = os.environ.get("RUSTLE_ANSIBLE_VENV") or os.path.join(WORKSPACE, ".venv")
    playbook_bin = os.path.join(venv, "bin", "ansible-playbook")
    if not os.path.exists(playbook_bin):
        sys.exit("ansible-playbook not found in %s" % venv)
    tmp = tempfile.mkdtemp()
    try:
        cbdir = os.path.join(tmp, "cb")
        os.mkdir(cbdir)
        with open(os.path.join(cbdir, "rustle_recorder.py"), "w") as fh:
            fh.write(CALLBACK)
        lines = ["- hosts: localhost", "  gather_facts: false", "  vars:"]
        for k, v in VARS.items():
            lines.append("    %s: %s" % (k, to_yaml(v)))
        lines.append("  tasks:")
        for i, (kind, inp, _flags) in enumerate(CASES):
            lines.append("    - name: case%d" % i)
            lines.append("      ignore_errors: true")
            if kind == T:
                lines.append("      debug: {msg: %s}" % to_yaml(inp))
            else:
                lines.append("      debug: {msg: ok}")
                lines.append("      when: %s" % to_yaml(inp))
        pb = os.path.join(FIXTURES, ".record-playbook.yml")
        with open(pb, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        env = dict(os.environ)
        env.update({
            "ANSIBLE_CALLBACK_PLUGINS": cbdir,
            "ANSIBLE_STDOUT_CALLBACK": "rustle_recorder",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_DEPRECATION_WARNINGS": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": os.path.join(tmp, "lt"),
            "ANSIBLE_HOME": os.path.join(tmp, "home"),
            "RUSTLE_TEST_ENV": "hello",
        })
        try:
            proc = subprocess.run([playbook_bin, pb], cwd=FIXTURES, env=env, capture_output=True, text=True)
        finally:
            os.unlink(pb)
        marker = [l for l in proc.stdout.splitlines() if l.startswith("@@RESULTS@@")]
        if not marker:
            sys.exit("no results from ansible-playbook:\n" + proc.stdout + proc.stderr)
        results = json.loads(marker[0][len("@@RESULTS@@"):])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    recorded = []
    for i, (kind, inp, flags) in enumerate(CASES):
        r = results.get("case%d" % i)
        entry = {"kind": kind, "input": inp, "flags": flags}
        if r is None:
            entry["error"] = "<no result>"
        elif kind == T:
            if r["status"] == "ok":
                entry["result"] = r["msg"]
            else:
                entry["error"] = core_message(r["msg"])
        else:
            if r["status"] == "failed":
                entry["error"] = core_message(r["msg"])
            else:
                entry["result"] = r["status"] == "ok"
        recorded.append(entry)
    with open(out, "w") as fh:
        json.dump({"vars": VARS, "cases": recorded}, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


if __name__ == "__main__":
    main()
