#!/usr/bin/env python3
"""The architecture dumpsyms/ promises, checked on its sources.

- Nothing outside dumpsyms/elf/ includes libelf's headers or calls libelf
  (elf_*, gelf_*): the readers see ELF only through object/object.h.
- Nothing outside dumpsyms/macho/ knows a Mach-O load command, header or
  nlist entry, or calls the Mach-O backend (the object layer in
  dumpsyms/object/ dispatches to it).
- dumpsyms/dumpsyms.h is the only dumpsyms header that code outside
  dumpsyms/ (the tools of the other modules) includes.
Comments and strings are ignored; every finding is listed by file:line."""
import os
import re
import sys

root = sys.argv[1]
ds = os.path.join(root, "dumpsyms")


def code_lines(path):
    """The file's lines with comments and string literals blanked."""
    text = open(path, encoding="utf-8", errors="replace").read()
    out = []
    i, n = 0, len(text)
    state = None
    while i < n:
        c = text[i]
        if state is None:
            if text.startswith("/*", i):
                state = "block"; i += 2; out.append("  "); continue
            if text.startswith("//", i):
                state = "line"; i += 2; out.append("  "); continue
            if c == '"':
                state = "str"; out.append('"'); i += 1; continue
            out.append(c)
        elif state == "block":
            if text.startswith("*/", i):
                state = None; i += 2; out.append("  "); continue
            out.append("\n" if c == "\n" else " ")
        elif state == "line":
            if c == "\n":
                state = None; out.append("\n")
            else:
                out.append(" ")
        elif state == "str":
            if c == "\\" and i + 1 < n:
                out.append("  "); i += 2; continue
            if c == '"':
                state = None; out.append('"')
            else:
                out.append("\n" if c == "\n" else " ")
        i += 1
    return "".join(out).split("\n"), text.split("\n")


def sources(top):
    for d, _, files in os.walk(top):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(d, f)


LIBELF = re.compile(r"\b(g?elf_[a-z_0-9]+\s*\(|GElf_\w+|Elf(32|64)?_\w+)")
LIBELF_INCLUDE = re.compile(r'#\s*include\s*<(gelf|libelf|elf)\.h>')
MACHO = re.compile(r"\b(DS_LC_\w+|LC_(SEGMENT|SYMTAB|DYSYMTAB|UUID|LOAD_DYLIB|ID_DYLIB)\w*|"
                   r"load_command|segment_command(_64)?|mach_header(_64)?|nlist(_64)?|"
                   r"DS_MH_\w+|MH_(MAGIC|CIGAM|EXECUTE|DYLIB|BUNDLE|DSYM|OBJECT)\w*|ds_macho_\w+)\b")
INCLUDE = re.compile(r'#\s*include\s*"([^"]+)"')

failures = []
checked = 0
ds_headers = {os.path.basename(p) for p in sources(ds) if p.endswith(".h")}
for path in sources(ds):
    rel = os.path.relpath(path, root)
    code, raw = code_lines(path)
    checked += 1
    in_elf = rel.startswith("dumpsyms/elf/")
    in_macho = rel.startswith("dumpsyms/macho/")
    for no, line in enumerate(code, 1):
        include = raw[no - 1] if no - 1 < len(raw) else ""
        inc = INCLUDE.search(include)
        if inc and not rel.startswith("dumpsyms/object/"):
            h = inc.group(1)
            if h.startswith("macho") and not in_macho:
                failures.append("%s:%d: includes the Mach-O backend's %s" % (rel, no, h))
            if h in ("elf_object.h",) and not in_elf:
                failures.append("%s:%d: includes the ELF backend's %s" % (rel, no, h))
        if not in_elf and (LIBELF.search(line) or LIBELF_INCLUDE.search(include)):
            failures.append("%s:%d: libelf outside dumpsyms/elf/: %s" % (rel, no, raw[no - 1].strip()))
        if not in_macho and not in_elf and MACHO.search(line):
            # The object layer may call the Mach-O backend's entry points
            # (opening, slice listing); nothing else may.
            m = MACHO.search(line).group(0)
            if not (rel.startswith("dumpsyms/object/") and m.startswith("ds_macho_")):
                failures.append("%s:%d: Mach-O internals outside dumpsyms/macho/: %s" % (rel, no, m))

# Outside dumpsyms/: only dumpsyms.h of dumpsyms' headers.  A header of the
# same name in the including module's own folder is that module's.
for module in sorted(os.listdir(root)):
    top = os.path.join(root, module)
    if module in ("dumpsyms", "tests", "build", "build-asan", "fuzz") or not os.path.isdir(top) \
            or module.startswith("."):
        continue
    for path in sources(top):
        checked += 1
        rel = os.path.relpath(path, root)
        own = {os.path.basename(p) for p in sources(top)}
        for no, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
            m = INCLUDE.search(line)
            if m and m.group(1) in ds_headers and m.group(1) != "dumpsyms.h" and m.group(1) not in own:
                failures.append("%s:%d: includes dumpsyms' internal header %s" % (rel, no, m.group(1)))

for f in failures:
    print("FAIL: " + f)
print("%d files checked, %d finding(s)" % (checked, len(failures)))
sys.exit(1 if failures else 0)
