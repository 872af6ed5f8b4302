"""install.sh's editor of LightShowPi's config/overrides.cfg: add, or take back, "autoencoder = on".

    python install_overrides.py enable|disable PATH [--dry-run] [--check] [--euid N]

install.sh runs it with the Python LightShowPi runs with (3.9 or newer, standard library only).

It edits lines, not a parsed config (configparser would drop the user's comments), and keeps
every byte it did not add: line ends (LF or CRLF), a missing final newline, bytes that are not
UTF-8. Everything ``enable`` adds is marked by a comment starting with
``# lightshowpi-autoencoder:``, and ``disable`` removes exactly what those marks name:

* a line added to an existing [audio_processing]: :data:`MARK_LINE`, then the line;
* a user's ``autoencoder = off`` switched on: each of its lines kept behind :data:`MARK_WAS`
  (``disable`` puts it back as it was), then :data:`MARK_LINE` and the added line;
* an [audio_processing] appended to the file: :data:`MARK_SECTION`, the header, the line (the
  header stays if the user has put lines of their own under it since);
* a file it created: :data:`MARK_FILE`, the header, the line (the file goes if nothing else is
  in it).

The user's own lines, the plugin's keys among them (their own ``autoencoder_model``, say),
are never touched. ``enable`` twice changes nothing; ``enable``, ``disable``, ``enable`` again
are safe in any order. The first change to an existing file is preceded by a backup,
``overrides.cfg.bak-autoencoder`` beside it; ``disable`` removes it once the file is back to
exactly those bytes, and otherwise says where it is.

``--check`` changes nothing: it says which files the edit would write and exits with status 3
(one line per path that cannot be written, for install.sh to refuse before any change) or 0.
Status 1: the edit failed (the file is left as it was).
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Dict, List, Optional, Set, Tuple

SECTION = "audio_processing"
KEY = "autoencoder"
PLUGIN_KEYS = ("autoencoder", "autoencoder_model", "autoencoder_strict")
LINE = "autoencoder = on"
PREFIX = "# lightshowpi-autoencoder: "
# (the first two are the texts earlier versions wrote: their installs uninstall too)
MARK_LINE = PREFIX + "the next line was added by its install.sh --enable"
MARK_SECTION = PREFIX + "this section was added by its install.sh --enable"
MARK_FILE = PREFIX + "this file was created by its install.sh --enable"
MARK_WAS = PREFIX + "install.sh --enable switched this line on, it was: "
TRUE = {"1", "yes", "true", "on", "enabled"}
BACKUP_SUFFIX = ".bak-autoencoder"
HEADER = re.compile(r"\[(?P<name>.+)\]")
OPTION = re.compile(r"(?P<key>[^=:]+?)\s*(?:[=:]\s*(?P<value>.*))?$")
ENDS = ("\r\n", "\n", "\r")
NOT_WRITABLE = 3


class Edit:
    """A planned change: the new lines (None: no change), whether the file goes, what to say."""

    def __init__(self) -> None:
        self.lines: Optional[List[str]] = None
        self.remove_file = False
        self.messages: List[str] = []


def split_end(line: str) -> Tuple[str, str]:
    """``line`` -> (text, its line end, '' for none)."""
    for end in ENDS:
        if line.endswith(end):
            return line[: -len(end)], end
    return line, ""


def read(path: str) -> List[str]:
    """The file's lines with their own ends, every byte kept (undecodable ones escaped)."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        return fh.readlines()


def write(path: str, lines: List[str]) -> None:
    """Write ``lines`` in place (same inode: owner, mode and attributes stay); if that fails
    part way, put the old bytes back before raising."""
    with open(path, "rb") as fh:
        before = fh.read()
    data = "".join(lines).encode("utf-8", errors="surrogateescape")
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError:
        try:
            with open(path, "wb") as fh:
                fh.write(before)
        except OSError:
            pass
        raise


def parse(lines: List[str]):
    """Section headers ``(index, name)`` and option spans ``[first, end, section, key, value]``,
    as configparser reads them: comments on their own line, indented continuation lines."""
    headers, options = [], []
    section, current = None, None
    for i, line in enumerate(lines):
        text = line.strip()
        if not text or text[0] in "#;":
            continue
        indent = len(line) - len(line.lstrip())
        if current is not None and indent > current[1]:
            current[0][1] = i + 1  # continuation line
            continue
        current = None
        m = HEADER.match(text)
        if m:
            section = m.group("name")
            headers.append((i, section))
            continue
        m = OPTION.match(text)
        opt = [i, i + 1, section, m.group("key").strip().lower(), (m.group("value") or "").strip()]
        options.append(opt)
        current = (opt, indent)
    return headers, options


def _normalised(lines: List[str]) -> Tuple[List[str], str, bool]:
    """(lines each with an end, the end the file uses, whether its last line had none)."""
    end = next((e for e in (split_end(l)[1] for l in lines) if e), "\n")
    no_final = bool(lines) and not split_end(lines[-1])[1]
    if no_final:
        lines = lines[:-1] + [lines[-1] + end]
    return list(lines), end, no_final


def _finish(lines: List[str], no_final: bool) -> List[str]:
    """Give the last line back the missing final newline it had (kept across edits)."""
    if no_final and lines:
        lines[-1] = split_end(lines[-1])[0]
    return lines


def plan_enable(lines: Optional[List[str]], path: str) -> Edit:
    """The edit that makes [audio_processing] say ``autoencoder = on``; ``lines`` None: no file."""
    edit = Edit()
    if lines is None:
        edit.lines = [MARK_FILE + "\n", "[%s]\n" % SECTION, LINE + "\n"]
        edit.messages.append('created %s with [%s] and "%s"' % (path, SECTION, LINE))
        return edit
    lines, end, no_final = _normalised(lines)
    headers, options = parse(lines)
    ours = [o for o in options if o[2] == SECTION and o[3] == KEY]
    off = [o for o in ours if o[4].lower() not in TRUE]
    if ours and not off:
        edit.messages.append("%s already enables the plugin in [%s] (unchanged)" % (path, SECTION))
        return edit
    if off:
        was: Set[int] = set()
        for o in off:
            was.update(range(o[0], o[1]))
            edit.messages.append('switched "%s" to "%s" in [%s] of %s (the old line is kept in a '
                                 "comment; --uninstall puts it back)"
                                 % (lines[o[0]].strip(), LINE, SECTION, path))
        after = off[-1][1]
        new = []
        for i, line in enumerate(lines):
            new.append(MARK_WAS + line if i in was else line)
            if i + 1 == after and len(off) == len(ours):
                new += [MARK_LINE + end, LINE + end]
        edit.lines = _finish(new, no_final)
        return edit
    starts = [i for i, name in headers if name == SECTION]
    if starts:
        at = starts[0] + 1
        lines[at:at] = [MARK_LINE + end, LINE + end]
        edit.messages.append('added "%s" to the existing [%s] of %s' % (LINE, SECTION, path))
    else:
        lines += [MARK_SECTION + end, "[%s]%s" % (SECTION, end), LINE + end]
        edit.messages.append('appended [%s] with "%s" to %s' % (SECTION, LINE, path))
    edit.lines = _finish(lines, no_final)
    return edit


def _option_at(options, i: int, key: str):
    return next((o for o in options if o[0] == i and o[3] == key), None)


def plan_disable(lines: Optional[List[str]], path: str) -> Edit:
    """The edit that takes back exactly what :func:`plan_enable` added (by its marks)."""
    edit = Edit()
    if lines is None:
        edit.messages.append("%s does not exist (nothing to remove)" % path)
        return edit
    lines, end, no_final = _normalised(lines)
    headers, options = parse(lines)
    drop: Set[int] = set()
    restore: Dict[int, str] = {}
    created = False
    for i, line in enumerate(lines):
        text, line_end = split_end(line)
        if text.startswith(MARK_WAS):
            restore[i] = text[len(MARK_WAS):] + line_end
            edit.messages.append('put back "%s" in %s' % (restore[i].strip(), path))
        elif text == MARK_LINE:
            drop.add(i)
            added = _option_at(options, i + 1, KEY)
            if added:
                drop.update(range(added[0], added[1]))
                edit.messages.append('removed "%s" from %s' % (lines[i + 1].strip(), path))
        elif text in (MARK_SECTION, MARK_FILE):
            created = created or text == MARK_FILE
            drop.add(i)
            if i + 1 < len(lines) and lines[i + 1].strip() == "[%s]" % SECTION:
                added = _option_at(options, i + 2, KEY)
                if added:
                    drop.update(range(added[0], added[1]))
                later = [h for h, _ in headers if h > i + 1]
                rest = [j for j in range(i + 2, later[0] if later else len(lines))
                        if j not in drop and lines[j].strip()]
                if not rest:
                    drop.add(i + 1)
                    edit.messages.append("removed the [%s] section it had added to %s" % (SECTION, path))
                elif added:
                    edit.messages.append('removed "%s" from %s (kept the [%s] it had added: '
                                         "it holds lines of yours)" % (LINE, path, SECTION))
    for o in options:
        if o[2] == SECTION and o[3] in PLUGIN_KEYS and o[0] not in drop:
            edit.messages.append('kept your own "%s" in [%s] of %s (install.sh did not add it)'
                                 % (lines[o[0]].strip(), SECTION, path))
    if not drop and not restore:
        edit.messages.append("%s has no lines from install.sh (unchanged)" % path)
        return edit
    kept = [restore.get(i, l) for i, l in enumerate(lines) if i not in drop]
    if created and not "".join(kept).strip():
        edit.remove_file = True
        edit.messages = ["removed %s (install.sh had created it; nothing else is in it)" % path]
        return edit
    # the end state of the file's last line is the original's: if what follows was ours, drop
    # the line end enable had to add (the "last line had none" test reads the edited file)
    edit.lines = _finish(kept, no_final)
    return edit


def _unwritable(path: str) -> Optional[str]:
    """Why ``path`` (a file, or the folder a new file goes in) cannot be written; None if it can.
    (``os.access`` asks the kernel: an immutable file or a read-only filesystem refuses root too.)"""
    if os.access(path, os.W_OK):
        return None
    return "cannot write %s" % path if os.path.exists(path) else "%s does not exist" % path


def needs(edit: Edit, path: str, mode: str) -> List[Tuple[str, str]]:
    """The paths the edit will write, each with why: the file, and its folder for a new file,
    a backup or a removal."""
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    if edit.remove_file:
        return [(folder, "install.sh removes the %s it had created" % name)]
    if edit.lines is None:
        return []
    if not os.path.exists(path):
        return [(folder, "install.sh creates %s there" % name)]
    out = [(path, "install.sh %s its autoencoder line" % ("adds" if mode == "enable" else "removes"))]
    if mode == "enable" and not os.path.exists(path + BACKUP_SUFFIX):
        out.append((folder, "install.sh backs %s up there first" % name))
    return out


def match_owner(target: str, like: str, euid: int) -> None:
    """As root, give ``target`` the owner of ``like``: the user's config stays the user's."""
    if euid == 0 and os.path.exists(like):
        st = os.stat(like)
        os.chown(target, st.st_uid, st.st_gid)


def apply(edit: Edit, path: str, mode: str, dry: bool, euid: int) -> None:
    """Carry the edit out (backup first when enabling), then clean up the backup when disabling."""
    say = lambda text: print("%-11s %s%s" % ("config", "[dry-run] " if dry else "", text))  # noqa: E731
    backup = path + BACKUP_SUFFIX
    made_backup = False
    if edit.lines is not None and mode == "enable" and os.path.exists(path):
        if os.path.exists(backup):
            say("kept the earlier backup %s (the file before the first --enable)" % backup)
        else:
            if not dry:
                shutil.copy2(path, backup)
                made_backup = True
                match_owner(backup, path, euid)
            say("backed up %s to %s (--uninstall removes it once the file is as before)"
                % (path, backup))
    try:
        if not dry and edit.remove_file:
            os.remove(path)
        elif not dry and edit.lines is not None:
            existed = os.path.exists(path)
            if existed:
                write(path, edit.lines)
            else:
                with open(path, "w", encoding="utf-8", newline="") as fh:
                    fh.writelines(edit.lines)
                match_owner(path, os.path.dirname(os.path.abspath(path)), euid)
    except OSError:
        if made_backup:
            os.remove(backup)
        raise
    for message in edit.messages:
        say(message)
    if mode == "enable" and edit.lines is None and os.path.exists(backup):
        say("the backup of %s from before the first --enable is %s (--uninstall removes it once "
            "the file is as before)" % (path, backup))
    if mode == "disable" and os.path.exists(backup):
        with open(backup, "rb") as fh:
            saved = fh.read()
        if _bytes_after(edit, path) == saved:
            try:
                if not dry:
                    os.remove(backup)
                say("removed the backup %s: %s is byte for byte as it was before --enable"
                    % (backup, path))
            except OSError as exc:
                say("could not remove the backup %s (%s): remove it yourself, %s is byte for "
                    "byte as it was before --enable" % (backup, exc.strerror or exc, path))
        else:
            say("kept the backup %s (the file as it was before the first --enable; the file "
                "now differs from it: edits made since)" % backup)


def _bytes_after(edit: Edit, path: str) -> Optional[bytes]:
    """The file's bytes once ``edit`` is done (None: no file)."""
    if edit.remove_file:
        return None
    if edit.lines is not None:
        return "".join(edit.lines).encode("utf-8", errors="surrogateescape")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        return fh.read()


def main(argv: List[str]) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="install.sh's editor of overrides.cfg")
    ap.add_argument("mode", choices=("enable", "disable"))
    ap.add_argument("path")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--check", action="store_true", help="only say what cannot be written")
    ap.add_argument("--euid", type=int, default=os.geteuid())
    args = ap.parse_args(argv)
    path = args.path
    try:
        lines = read(path) if os.path.exists(path) else None
    except OSError as exc:
        print("cannot read %s: %s" % (path, exc.strerror or exc))
        return NOT_WRITABLE if args.check else 1
    edit = plan_enable(lines, path) if args.mode == "enable" else plan_disable(lines, path)
    if args.check:
        bad = [(_unwritable(p), role) for p, role in needs(edit, path, args.mode)]
        bad = ["%s (%s)" % (problem, role) for problem, role in bad if problem]
        for line in bad:
            print(line)
        return NOT_WRITABLE if bad else 0
    try:
        apply(edit, path, args.mode, args.dry_run, args.euid)
    except OSError as exc:
        print("install.sh: could not change %s: %s (it is as it was)" % (path, exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
