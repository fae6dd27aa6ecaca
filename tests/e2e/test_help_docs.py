#!/usr/bin/env python3
"""--help, man page and docs/<tool>.md describe the same flags.

    test_help_docs.py DOCS_DIR MAN_DIR TOOL_BINARY...

For each tool: every flag its --help lists must appear in its generated man
page (MAN_DIR/<tool>.1) and in docs/<tool>.md; every flag that takes a value
must say its default (or that it is required or repeatable); and every flag
in the docs page's option tables (rows starting with a flag) must be one the
tool knows.  Prints each mismatch; exits 1 if there is any.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helptext  # noqa: E402


def man_flags_text(path):
    text = open(path).read()
    text = text.replace('\\-', '-').replace('\\fB', '').replace('\\fR', '').replace('\\e', '\\')
    return text


def mentions(text, flag):
    return re.search(r'(?<![\w-])' + re.escape(flag) + r'(?![\w-])', text) is not None


TOOL_NAMES = ('dumpsyms', 'symupload', 'stackwalk', 'symverify')


def command_lines(docs_dir, tools):
    """Every symkit command line in a fenced block of docs/*.md and the
    README uses only flags the tool knows."""
    known = {}
    for tool in tools:
        names = set()
        for n, _, _ in helptext.options(helptext.help_text(tool)):
            names.update(n)
        known[os.path.basename(tool)] = names
    pages = [os.path.join(docs_dir, f) for f in sorted(os.listdir(docs_dir)) if f.endswith('.md')]
    readme = os.path.join(os.path.dirname(os.path.abspath(docs_dir)), 'README.md')
    if os.path.exists(readme):
        pages.append(readme)
    problems, seen = [], 0
    for page in pages:
        in_block = False
        pending = ''
        for line in open(page):
            if line.lstrip().startswith('```'):
                in_block = not in_block
                pending = ''
                continue
            if not in_block:
                continue
            line = pending + line.rstrip('\n')
            if line.endswith('\\'):
                pending = line[:-1] + ' '
                continue
            pending = ''
            for m in re.finditer(r'(?:^|[\s/(;|&])(%s)((?:\s+[^\s|;&#]+)*)' % '|'.join(TOOL_NAMES), line):
                tool = m.group(1)
                if tool not in known:
                    continue
                seen += 1
                for tok in m.group(2).split():
                    if tok == '--' or not re.match(r'^--?[A-Za-z]', tok):
                        if tok == '--':
                            break
                        continue
                    flag = tok.split('=', 1)[0]
                    if not flag.startswith('--') and len(flag) > 2:
                        flag = flag[:2]  # -j4: a short flag with its value attached
                    if flag not in known[tool]:
                        problems.append('%s: "%s" uses %s, which %s --help does not list' %
                                        (os.path.basename(page), m.group(0).strip()[:80], flag, tool))
    print('%d symkit command lines in docs/ and README.md checked against --help' % seen)
    return problems


def main():
    docs_dir, man_dir, tools = sys.argv[1], sys.argv[2], sys.argv[3:]
    problems = []
    checked = 0
    for tool in tools:
        name = os.path.basename(tool)
        opts = helptext.options(helptext.help_text(tool))
        if not opts:
            problems.append('%s: --help lists no options at all' % name)
            continue
        man = man_flags_text(os.path.join(man_dir, name + '.1'))
        doc_path = os.path.join(docs_dir, name + '.md')
        doc = open(doc_path).read()
        known = set()
        for names, value, desc in opts:
            known.update(names)
            checked += 1
            longs = [n for n in names if n.startswith('--')] or names
            for n in names:
                if not mentions(man, n):
                    problems.append('%s: %s is in --help but not in its man page' % (name, n))
            for n in longs:
                if not mentions(doc, n):
                    problems.append('%s: %s is in --help but not in docs/%s.md' % (name, n, name))
            if value and not re.search(r'default|required|repeatable', desc, re.I):
                problems.append('%s: %s %s does not say its default in --help' % (name, names[-1], value))
        for line in doc.split('\n'):
            m = re.match(r'^\|\s*`(-[^`]*)`', line)
            if not m:
                continue
            for flag in re.findall(r'(?<![\w-])(--?[A-Za-z][\w-]*)', line.split('|')[1]):
                if flag not in known:
                    problems.append('docs/%s.md documents %s, which %s --help does not list' %
                                    (name, flag, name))
        print('%-10s %3d options: --help, man page and docs/%s.md compared' % (name, len(opts), name))
    problems += command_lines(docs_dir, tools)
    for p in problems:
        print('MISMATCH ' + p)
    print('%d options checked, %d mismatches' % (checked, len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
