#!/usr/bin/env python3
"""completions.py — bash and zsh completions for a symkit tool, made from
its own --help text (the same one source as the man page, see help2man.py).

    completions.py bash|zsh TOOL_BINARY --output FILE

Each option line of --help gives a flag (long and short forms) and whether it
takes a value; the value's placeholder picks what to complete: FILE, DUMP,
REPORT, *.sym → files; DIR → directories; URL, N, F, SIZE, … → nothing.
symverify's commands (its "usage:" lines) complete first.
"""
import argparse
import os
import re
import subprocess
import sys

FLAG = re.compile(r'^\s{1,6}(-{1,2}[A-Za-z0-9][^\s]*(?:\s.*)?)$')


def options(help_text):
    """[(flags, placeholder or None)] from --help's option lines."""
    found = []
    seen = set()
    for line in help_text.split('\n'):
        m = FLAG.match(line)
        if not m:
            continue
        head = re.split(r'\s{2,}', m.group(1).strip())[0]
        names, value = [], None
        for part in re.split(r',\s*', head):
            bits = re.split(r'\[?[ =]', part.strip(), maxsplit=1)
            if bits[0].startswith('-'):
                names.append(bits[0].rstrip(','))
            if len(bits) > 1 and bits[1]:
                value = bits[1].strip('[]')
        names = [n for n in names if n not in seen]
        if names:
            seen.update(names)
            found.append((names, value))
    return found


def commands(help_text, tool):
    cmds = []
    for line in help_text.split('\n'):
        m = re.match(r'^(?:usage:)?\s*%s\s+([a-z][a-z-]+)\b' % re.escape(tool), line)
        if m and m.group(1) not in cmds:
            cmds.append(m.group(1))
    return cmds


def kind(value):
    if not value:
        return None
    v = value.upper()
    if 'DIR' in v and 'URL' not in v:
        return 'dir'
    if any(k in v for k in ('FILE', 'DUMP', 'REPORT', 'PATH', 'OUT', 'SYM', 'BINARY')):
        return 'file'
    if 'DIR' in v:  # DIR|URL
        return 'dir'
    return 'none'


def bash(tool, opts, cmds):
    fn = '_symkit_' + tool
    words = ' '.join(n for names, _ in opts for n in names)
    files = ' '.join(n for names, v in opts for n in names if kind(v) == 'file')
    dirs = ' '.join(n for names, v in opts for n in names if kind(v) == 'dir')
    other = ' '.join(n for names, v in opts for n in names if kind(v) == 'none')
    lines = [
        '# bash completion for %s (generated from "%s --help" by scripts/completions.py)' % (tool, tool),
        '%s() {' % fn,
        '    local cur prev',
        '    cur=${COMP_WORDS[COMP_CWORD]}',
        '    prev=${COMP_WORDS[COMP_CWORD-1]}',
    ]
    if cmds:
        lines += [
            '    if [ "$COMP_CWORD" -eq 1 ]; then',
            '        COMPREPLY=($(compgen -W "%s --help --version" -- "$cur"))' % ' '.join(cmds),
            '        return',
            '    fi',
        ]
    lines += [
        '    case "$prev" in',
    ]
    if files:
        lines.append('    %s) COMPREPLY=($(compgen -f -- "$cur")); return ;;' % files.replace(' ', '|'))
    if dirs:
        lines.append('    %s) COMPREPLY=($(compgen -d -- "$cur")); return ;;' % dirs.replace(' ', '|'))
    if other:
        lines.append('    %s) return ;;' % other.replace(' ', '|'))
    lines += [
        '    esac',
        '    if [[ "$cur" == -* ]]; then',
        '        COMPREPLY=($(compgen -W "%s" -- "$cur"))' % words,
        '    else',
        '        COMPREPLY=($(compgen -f -- "$cur"))',
        '    fi',
        '}',
        'complete -o filenames -F %s %s' % (fn, tool),
    ]
    return '\n'.join(lines) + '\n'


def zsh(tool, opts, cmds):
    lines = ['#compdef %s' % tool,
             '# zsh completion for %s (generated from "%s --help" by scripts/completions.py)' % (tool, tool)]
    specs = []
    for names, value in opts:
        k = kind(value)
        action = {'file': ':file:_files', 'dir': ':directory:_files -/', 'none': ':value: '}.get(k, '')
        for n in names:
            specs.append("'%s%s'" % (n, action))
    if cmds:
        lines.append("_arguments -C '1:command:(%s)' %s '*:file:_files'" % (' '.join(cmds), ' '.join(specs)))
    else:
        lines.append("_arguments %s '*:file:_files'" % ' '.join(specs))
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('shell', choices=['bash', 'zsh'])
    ap.add_argument('tool')
    ap.add_argument('--output', required=True)
    a = ap.parse_args()
    name = os.path.basename(a.tool)
    text = subprocess.run([a.tool, '--help'], check=True, capture_output=True, text=True,
                          timeout=60).stdout
    opts, cmds = options(text), commands(text, name)
    out = bash(name, opts, cmds) if a.shell == 'bash' else zsh(name, opts, cmds)
    tmp = a.output + '.tmp'
    with open(tmp, 'w') as f:
        f.write(out)
    os.replace(tmp, a.output)


if __name__ == '__main__':
    sys.exit(main())
