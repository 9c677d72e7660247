"""flow-setup-wants.py TEST_EXTRAS DEV_EXTRAS — what a Python project asks to
be installed with for its tests. Used by flow-setup (std.setup).

Run in the repository. Reads pyproject.toml ([project.optional-dependencies],
[tool.poetry.extras], PEP 735 [dependency-groups]), setup.cfg
([options.extras_require]) and setup.py (its text: extras_require keys).
Prints, one a line:
  extras: A,B      the extras to install (`pip install -e '.[A,B]'`): those
                   of TEST_EXTRAS that exist, else those of DEV_EXTRAS
  group: REQ       each requirement of the dependency groups chosen the same
                   way (include-group followed)
TEST_EXTRAS and DEV_EXTRAS are space-separated names, in order of preference.

pyproject.toml is read with tomllib (Python 3.11+), else tomli if installed,
else by its text: section headers, `name = [ "req", … ]` entries (one or
several lines), which covers the usual layouts. Never fails on a malformed
file: it then prints less.
"""
import configparser
import os
import re
import sys


def load_toml(path):
    """The TOML file as a dict, by a TOML parser or by the text fallback."""
    try:
        import tomllib as parser
    except ImportError:
        try:
            import tomli as parser
        except ImportError:
            parser = None
    if parser is not None:
        try:
            with open(path, "rb") as f:
                return parser.load(f)
        except (OSError, ValueError):
            return {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return toml_by_text(f.read())
    except OSError:
        return {}


def without_comment(line):
    """The line up to a `#` that is not inside a quoted string."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i]
    return line


def array_items(fragment):
    """The items of (part of) a TOML array: strings, and inline tables
    `{include-group = "NAME"}` as dicts."""
    items = []
    for table, dq, sq in re.findall(
        r'(\{[^}]*\})|"([^"]*)"|\'([^\']*)\'', fragment
    ):
        if table:
            group = re.search(r'include-group\s*=\s*["\']([^"\']+)["\']', table)
            if group:
                items.append({"include-group": group.group(1)})
        else:
            items.append(dq or sq)
    return items


def closes(fragment):
    """True when the fragment has a `]` outside strings: the array ends."""
    return "]" in re.sub(r'"[^"]*"|\'[^\']*\'', "", fragment)


def toml_by_text(text):
    """Tables of lists of strings from TOML text, e.g. {"project":
    {"optional-dependencies": {"test": ["pytest"]}}}: enough to find extras
    and dependency groups where no TOML parser is installed."""
    doc, table, key, items = {}, None, None, None
    for line in text.splitlines():
        line = without_comment(line).strip()
        if items is not None:
            items.extend(array_items(line))
            if closes(line):
                table[key], items = items, None
            continue
        header = re.match(r"^\[([^\[\]]+)\]$", line)
        if header:
            table = doc
            for part in header.group(1).split("."):
                table = table.setdefault(part.strip().strip('"'), {})
            continue
        entry = re.match(r'^"?([A-Za-z0-9_.-]+)"?\s*=\s*\[(.*)$', line)
        if entry and table is not None:
            key, rest = entry.group(1), entry.group(2)
            items = array_items(rest)
            if closes(rest):
                table[key], items = items, None
    return doc


def main():
    test_x, dev_x = (a.split() for a in sys.argv[1:3])
    extras, groups = set(), {}
    if os.path.exists("pyproject.toml"):
        doc = load_toml("pyproject.toml")
        project = doc.get("project") or {}
        extras |= set(project.get("optional-dependencies") or {})
        extras |= set(((doc.get("tool") or {}).get("poetry") or {}).get("extras") or {})
        groups = doc.get("dependency-groups") or {}
    if os.path.exists("setup.cfg"):
        cfg = configparser.ConfigParser(interpolation=None)
        try:
            cfg.read("setup.cfg")
            if cfg.has_section("options.extras_require"):
                extras |= set(cfg.options("options.extras_require"))
        except configparser.Error:
            pass
    if os.path.exists("setup.py"):
        with open("setup.py", encoding="utf-8", errors="replace") as f:
            text = f.read()
        if "extras_require" in text:
            for name in test_x + dev_x:
                if re.search(r"""['"]%s['"]\s*:|\b%s\s*=\s*\[""" % (name, name), text):
                    extras.add(name)
    chosen = [x for x in test_x if x in extras] or [x for x in dev_x if x in extras]
    if chosen:
        print("extras: " + ",".join(chosen))

    seen = set()

    def group_reqs(name):
        if name in seen or not isinstance(groups.get(name), list):
            return
        seen.add(name)
        for item in groups[name]:
            if isinstance(item, str):
                print("group: " + item)
            elif isinstance(item, dict) and "include-group" in item:
                group_reqs(item["include-group"])

    for name in [g for g in test_x if g in groups] or [g for g in dev_x if g in groups]:
        group_reqs(name)


if __name__ == "__main__":
    main()
