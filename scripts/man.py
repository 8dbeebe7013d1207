#!/usr/bin/env python3
"""Finish the man pages generate-manual writes: keysmith's names, sections and examples.

    python3 scripts/man.py RAW_DIR MAN_DIR DOCS_DIR

RAW_DIR holds swift-argument-parser's `generate-manual --multi-page` output
(keysmith.1, keysmith.known-hosts.find.1, ...). For each page this script

  - names it as git names its pages: keysmith-known-hosts-find.1 (.Dt too);
  - turns blank lines of a command's discussion into paragraph breaks;
  - replaces the generic EXIT STATUS with keysmith's (0, 1, 64);
  - adds the sections of DOCS_DIR/<page>.txt (EXAMPLES, SEE ALSO, ...) where
    mdoc(7) orders them, and a SEE ALSO naming the parent and child pages;
  - drops the page of the built-in `help` subcommand;
  - keeps the old .Dd date when nothing else on the page changed, so
    regenerating does not touch every page every day.

A DOCS_DIR file is plain text: a line in capitals (EXAMPLES) starts a section,
lines indented by four spaces are shown literally (commands, output), a line
`TAG :: text` is an item of a tagged list (indented lines continue it), other
lines are running text, blank lines separate paragraphs. In SEE ALSO, write
`name(section)` items separated by commas. A DESCRIPTION section is added after
the option list; an EXIT STATUS section after the common text.
Pages in MAN_DIR that no command has any more are removed.
"""

import os
import re
import sys

# mdoc(7) "MANUAL STRUCTURE": the order of the sections after DESCRIPTION.
ORDER = [
    "DESCRIPTION",
    "ENVIRONMENT",
    "FILES",
    "EXIT STATUS",
    "EXAMPLES",
    "DIAGNOSTICS",
    "SEE ALSO",
    "STANDARDS",
    "HISTORY",
    "AUTHORS",
    "CAVEATS",
    "BUGS",
    "SECURITY CONSIDERATIONS",
]

EXIT_STATUS = """.Sh EXIT STATUS
.Bl -tag -width Ds
.It 0
Success.
.It 1
Failure or refusal: a wrong passphrase, a malformed or missing file, a file that
already exists, permissions too open, a bad signature, a changed or unconfirmed
host key, authentication refused.
One sentence on standard error says what went wrong and what to do, and no file
is changed.
.It 64
Usage error (EX_USAGE): an unknown option or subcommand, a missing or malformed
argument.
The error and the command's usage are printed on standard error.
.El
"""


def escape_text(line):
    """A line of running text: backslashes as \\e, a leading . or ' protected."""
    line = line.replace("\\", "\\e")
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def running_text(line):
    """As escape_text, with each new sentence on a new line, as mdoc(7) asks."""
    return "\n".join(escape_text(s) for s in re.split(r"(?<=[a-z0-9)][.!?]) +(?=[A-Z])", line))


def parse_docs(path):
    """{SECTION: [lines]} from a docs file; {} when there is none."""
    if not os.path.exists(path):
        return {}
    sections, current = {}, None
    with open(path, encoding="utf-8") as f:
        for raw in f.read().splitlines():
            if re.fullmatch(r"[A-Z][A-Z ]*[A-Z]", raw):
                current = raw
                sections[current] = []
            elif current is None:
                if raw.strip():
                    sys.exit(f"{path}: text before the first section heading: {raw!r}")
            else:
                sections[current].append(raw)
    for name in sections:
        if name not in ORDER:
            sys.exit(f"{path}: unknown section {name!r}; use one of {', '.join(ORDER)}")
    return sections


def render_text(lines):
    """Paragraphs and literal blocks as mdoc."""
    out, block, para_open, in_list = [], None, False, False
    for raw in lines + [""]:
        if raw.startswith("    "):
            if in_list:
                out.append(".El")
                in_list = False
            if block is None:
                out.append(".Bd -literal -offset indent")
                block = []
            block.append(raw[4:])
            continue
        if block is not None:
            while block and not block[-1].strip():
                block.pop()
            out += [escape_text(b) if b.strip() else "" for b in block]
            out.append(".Ed")
            block, para_open = None, False
        item = re.match(r"(\S.*?) :: (.*)$", raw)
        if item:
            if not in_list:
                out.append(".Bl -tag -width Ds")
                in_list = True
            out += [".It " + item.group(1).replace("\\", "\\e"), running_text(item.group(2).strip())]
            para_open = True
            continue
        if in_list and (not raw.strip() or not raw.startswith(" ")):
            out.append(".El")
            in_list, para_open = False, False
        if not raw.strip():
            para_open = False
            continue
        if not para_open:
            if out:
                out.append(".Pp")
            para_open = True
        out.append(running_text(raw.strip()))
    return out


def appended_text(lines):
    """render_text for text that follows a list: a paragraph break first."""
    out = render_text(lines)
    return out if not out or out[0].startswith((".Bd", ".Bl")) else [".Pp"] + out


def render_see_also(lines, generated):
    """`.Xr` lines: the generated references first, then the docs file's."""
    refs = list(generated)
    text = " ".join(l.strip() for l in lines)
    for item in filter(None, (s.strip() for s in text.split(","))):
        m = re.fullmatch(r"([A-Za-z0-9_.+-]+)\((\w+)\)", item)
        if not m:
            sys.exit(f"SEE ALSO: {item!r} is not name(section)")
        if (m.group(1), m.group(2)) not in refs:
            refs.append((m.group(1), m.group(2)))
    return [f".Xr {n} {s}" + (" ," if i < len(refs) - 1 else "") for i, (n, s) in enumerate(refs)]


def split_sections(text):
    """(head lines before the first .Sh, [(name, [lines])])."""
    head, sections = [], []
    for line in text.splitlines():
        m = re.match(r'\.Sh "?([^"]*)"?$', line)
        if m:
            sections.append((m.group(1).upper(), [line]))
        elif sections:
            sections[-1][1].append(line)
        else:
            head.append(line)
    return head, sections


def page_name(raw_file):
    """keysmith.known-hosts.find.1 -> keysmith-known-hosts-find"""
    return raw_file[: -len(".1")].replace(".", "-")


def finish(raw_dir, raw_file, all_names, docs_dir):
    name = page_name(raw_file)
    with open(os.path.join(raw_dir, raw_file), encoding="utf-8") as f:
        head, sections = split_sections(f.read())
    head = [re.sub(r"^\.Dt \S+", ".Dt " + name.upper(), l) for l in head]
    head = [".Os keysmith" if l == ".Os" else l for l in head]
    docs = parse_docs(os.path.join(docs_dir, name + ".txt"))

    # A parent is the longest generated name that prefixes this one (names contain hyphens).
    parents = [n for n in all_names if n != name and name.startswith(n + "-")]
    parent = max(parents, key=len) if parents else None
    children = sorted(
        n for n in all_names
        if n.startswith(name + "-") and max((p for p in all_names if n.startswith(p + "-")), key=len) == name
    )
    generated_refs = ([(parent, "1")] if parent else []) + [(c, "1") for c in children]

    body = {}
    for sname, lines in sections:
        if sname == "DESCRIPTION":
            fixed = [lines[0]]
            for l in lines[1:]:
                if not l.strip():
                    if fixed[-1] != ".Pp":
                        fixed.append(".Pp")
                else:
                    fixed.append(l)
            if "DESCRIPTION" in docs:
                fixed += appended_text(docs["DESCRIPTION"])
            body[sname] = fixed
        elif sname in ("EXIT STATUS", "SEE ALSO"):
            continue
        else:
            body[sname] = lines
    body["EXIT STATUS"] = EXIT_STATUS.rstrip("\n").split("\n")
    if "EXIT STATUS" in docs:
        body["EXIT STATUS"] += appended_text(docs["EXIT STATUS"])
    for sname, lines in docs.items():
        if sname in ("DESCRIPTION", "EXIT STATUS", "SEE ALSO"):
            continue
        body[sname] = [f'.Sh "{sname}"' if " " in sname else f".Sh {sname}"] + render_text(lines)
    see = render_see_also(docs.get("SEE ALSO", []), generated_refs)
    if see:
        body["SEE ALSO"] = ['.Sh "SEE ALSO"'] + see

    out = list(head)
    for sname in ["NAME", "SYNOPSIS"] + ORDER:
        if sname in body:
            out += body.pop(sname)
    for sname in list(body):  # anything generate-manual adds that we do not know yet
        out += body.pop(sname)
    return name, "\n".join(out) + "\n"


def without_date(text):
    return re.sub(r"^\.Dd .*$", "", text, count=1, flags=re.M)


def main():
    raw_dir, man_dir, docs_dir = sys.argv[1:4]
    raw_files = sorted(
        f for f in os.listdir(raw_dir)
        if f.startswith("keysmith") and f.endswith(".1") and "help" not in f[:-2].split(".")
    )
    names = [page_name(f) for f in raw_files]
    for f in os.listdir(docs_dir):
        if f.endswith(".txt") and f[:-4] not in names:
            sys.exit(f"{docs_dir}/{f}: no command has a page of that name")
    written = set()
    for raw_file in raw_files:
        name, text = finish(raw_dir, raw_file, names, docs_dir)
        path = os.path.join(man_dir, name + ".1")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
            if without_date(old) == without_date(text):
                text = old
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        written.add(name + ".1")
    for f in os.listdir(man_dir):
        if f.endswith(".1") and f not in written:
            os.remove(os.path.join(man_dir, f))


if __name__ == "__main__":
    main()
