"""helptext.py — reads the option lines of a symkit tool's --help, the way
scripts/help2man.py and scripts/completions.py do, for the e2e tests."""
import re
import subprocess

OPTION = re.compile(r'^(\s{1,6})(-{1,2}[A-Za-z0-9?][\w-]*(?:,\s*-{1,2}[\w-]+)*'
                    r'(?:[ =](?:[A-Z][A-Z0-9_|.]*|\[[A-Z_]+\])|\[=[A-Z_]+\])*)(?:\s+(.*))?$')


def help_text(tool):
    return subprocess.run([tool, '--help'], capture_output=True, text=True, timeout=60,
                          check=True).stdout


def options(text):
    """[(names, placeholder or None, description)] in --help order."""
    lines = text.split('\n')
    out = []
    i = 0
    while i < len(lines):
        m = OPTION.match(lines[i])
        i += 1
        if not m:
            continue
        indent = len(m.group(1))
        head = m.group(2)
        desc = [m.group(3) or '']
        while i < len(lines) and lines[i].strip() and \
                len(lines[i]) - len(lines[i].lstrip()) > indent and not OPTION.match(lines[i]):
            desc.append(lines[i].strip())
            i += 1
        names, value = [], None
        for part in re.split(r',\s*', head):
            bits = re.split(r'\[?[ =]', part.strip(), maxsplit=1)
            names.append(bits[0])
            if len(bits) > 1:
                value = bits[1]
        out.append((names, value, ' '.join(d for d in desc if d)))
    return out
