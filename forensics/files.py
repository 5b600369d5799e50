#!/usr/bin/env python3
"""files.py: what a host's frozen disk holds that its base image does not, read from outside,
without booting or mounting anything (this machine has no nbd and no loadable modules).

    files.py changes DISK.qcow2 --scratch DIR      JSON lines: one per changed path, then a summary
    files.py users DISK.qcow2 --scratch DIR        JSON: {"uid": "name"} from the disk's /etc/passwd

DISK is a host's overlay (a snapshot's disk.qcow2 or a reset's overlay.qcow2); its base image is
the backing file named in its qcow2 header. A disk taken from a running guest is a mounted ext4
whose last writes may still be only in its journal: the chain is flattened into a sparse raw copy
in DIR and the journal replayed there (`e2fsck -E journal_only`), never in the evidence. Both trees
are then walked with Fox-IT's dissect.extfs and compared entry by entry (inode, type, size, mode,
owner, mtime, ctime, link target, where the data lies); regular files that were added or changed are hashed (SHA-256).
Directories are listed only when added or deleted.
"""
import argparse
import datetime
import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from dissect.extfs import ExtFS
from dissect.hypervisor.disk.qcow2 import QCow2


def fail(message):
    print("files.py: " + message, file=sys.stderr)
    sys.exit(2)


def open_chain(path):
    """A qcow2 file and its backing chain, each opened read-only. dissect's own opening of a
    backing file takes its name relative to the overlay's folder, and DecoyNet's are absolute."""
    path = Path(path)
    handle = path.open("rb")
    image = QCow2(handle, allow_no_backing_file=True)
    backing = image.auto_backing_file
    if backing:
        backing_path = Path(backing)
        if not backing_path.is_absolute():
            backing_path = path.parent / backing_path
        if not backing_path.exists():
            fail(f"the base image {backing_path} of {path} is missing: rebuild it (decoynet image build) or copy it back")
        image = QCow2(path.open("rb"), backing_file=open_chain(backing_path))
    return image.open()


def backing_file(path):
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)],
                                     check=True, capture_output=True, text=True).stdout)
    return info.get("full-backing-filename") or info.get("backing-filename")


def kind_of(mode):
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "link"
    return "other"


def walk(fs):
    """Every entry below / as path -> (inode, facts compared, node)."""
    entries = {}
    pending = [("", fs.get("/"))]
    while pending:
        prefix, directory = pending.pop()
        for name, node in directory.listdir().items():
            if name in (".", ".."):
                continue
            path = prefix + "/" + name
            raw = node.inode
            mode = raw.i_mode
            link = None
            if stat.S_ISLNK(mode):
                try:
                    link = node.link
                except Exception:
                    link = "?"
            # Where its data lies (the extent tree's root) too: a rewrite that kept every time still moved the data.
            facts = (node.inum, kind_of(mode), node.size, stat.S_IMODE(mode), raw.i_uid | (getattr(raw, "i_uid_high", 0) << 16),
                     node.mtime_ns, node.ctime_ns, link, bytes(raw.i_block))
            entries[path] = (facts, node)
            if stat.S_ISDIR(mode):
                pending.append((path, node))
    return entries


def sha256(node):
    digest = hashlib.sha256()
    with node.open() as handle:
        while True:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


def iso(nanoseconds):
    moment = datetime.datetime.fromtimestamp(nanoseconds / 1e9, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def describe(path, change, facts, node, base_node):
    inode, kind, size, mode, uid, mtime, ctime, link, _ = facts
    entry = {"path": path, "change": change, "type": kind, "size": size, "mode": "%04o" % mode, "uid": uid,
             "mtime": iso(mtime), "ctime": iso(ctime), "inode": inode}
    if kind == "file" and change != "deleted":
        entry["sha256"] = sha256(node)
        if base_node is not None:
            entry["base_sha256"] = sha256(base_node)
    if link is not None:
        entry["target"] = link
    return entry


class Flattened:
    """The disk's chain as one sparse raw file in the scratch folder, its journal replayed; removed
    on leaving. The evidence itself is only read."""

    def __init__(self, disk, scratch):
        self.disk, self.scratch = disk, scratch
        self.path = os.path.join(scratch, "disk-%d.raw" % os.getpid())
        self.replayed = False

    def __enter__(self):
        os.makedirs(self.scratch, exist_ok=True)
        # Copies of analyses that were killed: their process is gone.
        for name in os.listdir(self.scratch):
            if name.startswith("disk-") and name.endswith(".raw"):
                pid = name[5:-4]
                if pid.isdigit() and not os.path.exists("/proc/" + pid):
                    os.unlink(os.path.join(self.scratch, name))
        try:
            # -U: the base is shared with running hosts. Sparse: only the data is written.
            subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", "-S", "4k", str(self.disk), self.path], check=True, capture_output=True)
        except subprocess.CalledProcessError as error:
            self.__exit__()
            fail(f"cannot read {self.disk}: " + error.stderr.decode("utf-8", "replace").strip())
        try:
            replay = subprocess.run(["e2fsck", "-E", "journal_only", "-y", self.path], capture_output=True, text=True)
        except OSError as error:
            self.__exit__()
            fail(f"cannot run e2fsck on the copy: {error}")
        self.replayed = "recovering journal" in replay.stdout + replay.stderr
        # 0 and 1 are a clean or replayed file system; anything else is its own damage, read as it is.
        if replay.returncode not in (0, 1):
            print("files.py: e2fsck on the copy: " + (replay.stdout + replay.stderr).strip().replace("\n", "; "), file=sys.stderr)
        self.handle = open(self.path, "rb")
        return self

    def __exit__(self, *_):
        if getattr(self, "handle", None):
            self.handle.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def user_names(fs):
    names = {}
    try:
        text = fs.get("/etc/passwd").open().read().decode("utf-8", "replace")
    except Exception:
        text = ""
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit():
            names.setdefault(fields[2], fields[0])
    return names


def changes(disk, scratch):
    started = time.monotonic()
    base = backing_file(disk)
    if not base:
        fail(f"{disk} has no base image: it is not a host's overlay")
    if not os.path.exists(base):
        fail(f"the base image {base} of {disk} is missing: rebuild it (decoynet image build) or copy it back")
    with Flattened(disk, scratch) as flat:
        fs = ExtFS(flat.handle)
        now = walk(fs)
        then = walk(ExtFS(open_chain(base)))
        listed = 0
        for path in sorted(set(now) | set(then)):
            current, before = now.get(path), then.get(path)
            if current and before:
                if current[0] == before[0] or current[0][1] == "dir" == before[0][1]:
                    continue
                entry = describe(path, "modified", current[0], current[1], before[1] if current[0][1] == before[0][1] == "file" else None)
            elif current:
                entry = describe(path, "added", current[0], current[1], None)
            else:
                entry = describe(path, "deleted", before[0], before[1], None)
            print(json.dumps(entry, sort_keys=True))
            listed += 1
        summary = {"summary": {"base": base, "entries": len(now), "base_entries": len(then), "listed": listed,
                               "journal_replayed": flat.replayed, "users": user_names(fs),
                               "seconds": round(time.monotonic() - started, 2)}}
        print(json.dumps(summary, sort_keys=True))


def users(disk, scratch):
    with Flattened(disk, scratch) as flat:
        print(json.dumps(user_names(ExtFS(flat.handle)), sort_keys=True))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("changes")
    listing.add_argument("disk")
    listing.add_argument("--scratch", required=True)
    table = commands.add_parser("users")
    table.add_argument("disk")
    table.add_argument("--scratch", required=True)
    arguments = parser.parse_args()
    if not os.path.exists(arguments.disk):
        fail(f"no disk at {arguments.disk}")
    if arguments.command == "changes":
        changes(arguments.disk, arguments.scratch)
    else:
        users(arguments.disk, arguments.scratch)


if __name__ == "__main__":
    main()
