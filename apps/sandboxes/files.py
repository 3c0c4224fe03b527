"""Files of a sandbox's workspace, read and written by the platform without trusting its contents.

The workspace is written by code we do not trust, so a name in it may be a symlink to anywhere
on the host, a FIFO that blocks a reader forever, or a directory swapped for a link between
a check and a use. Every path is therefore walked one component at a time from a directory
descriptor with ``O_NOFOLLOW``: a symlink anywhere on the way is refused, never followed, and
nothing is resolved by name after it was checked.
"""
from __future__ import annotations

import os
import posixpath
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from apps.core.errors import Invalid, NotFound, PayloadTooLarge

#: Where the workspace appears inside the sandbox; clients may name paths either way.
MOUNT_POINT = "/workspace"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: The longest name one path component may have (Linux filesystems); longer is ENAMETOOLONG.
NAME_MAX = 255


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the workspace, "/"-separated
    name: str
    type: str  # "file" | "directory" | "symlink" | "other"
    size: int
    modified: float


def split_path(path: str, *, field: str = "path", allow_root: bool = True) -> list[str]:
    """``path`` as components inside the workspace, or a 400 if it would leave it."""
    if not isinstance(path, str) or "\x00" in path or "\\" in path or len(path) > 1024:
        raise Invalid("Invalid path.", field_errors={field: ["A path inside the workspace."]})
    if path == MOUNT_POINT or path.startswith(MOUNT_POINT + "/"):
        path = path[len(MOUNT_POINT):]
    elif path.startswith("/"):
        raise Invalid("Absolute paths outside /workspace are not allowed.", field_errors={field: ["Outside the workspace."]})
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise Invalid("Paths may not leave the workspace.", field_errors={field: ["'..' is not allowed."]})
    if any(len(part.encode("utf-8", "surrogatepass")) > NAME_MAX for part in parts):
        raise Invalid("A file name is too long.", field_errors={field: [f"Each name is at most {NAME_MAX} bytes."]})
    if not parts and not allow_root:
        raise Invalid("A file path is required.", field_errors={field: ["Name a file, not the workspace itself."]})
    return parts


def _refuse_link(name: str, field: str) -> Invalid:
    return Invalid(f"{name} is a symbolic link; links are not followed.", field_errors={field: ["A symbolic link."]})


class Workspace:
    """A sandbox's workspace directory on the host, owned by the sandbox's uid when we can chown."""

    def __init__(self, root: Path, *, uid: int | None = None, disk_bytes: int | None = None):
        self.root = Path(root)
        self.uid = uid
        self.disk_bytes = disk_bytes

    # -- walking --------------------------------------------------------------------------------
    @contextmanager
    def _directory(self, parts: list[str], *, create: bool = False, field: str = "path") -> Iterator[int]:
        """A descriptor of the directory ``parts`` names, reached without following any link."""
        try:
            fd = os.open(self.root, _DIR_FLAGS)
        except FileNotFoundError:
            # Stopped (its files removed) between the lookup of the sandbox and this call.
            raise NotFound("The sandbox's workspace no longer exists.") from None
        try:
            for part in parts:
                try:
                    next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise NotFound(f"{'/'.join(parts)} does not exist.") from None
                    os.mkdir(part, 0o755, dir_fd=fd)
                    self._chown(part, fd)
                    next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except (NotADirectoryError, OSError) as exc:
                    if _is_link(part, fd):
                        raise _refuse_link("/".join(parts), field) from exc
                    if isinstance(exc, NotADirectoryError):
                        raise Invalid(f"{part} is not a directory.", field_errors={field: ["Not a directory."]}) from exc
                    raise
                os.close(fd)
                fd = next_fd
            yield fd
        finally:
            os.close(fd)

    def _chown(self, name: str, dir_fd: int) -> None:
        if self.uid is not None:
            os.chown(name, self.uid, self.uid, dir_fd=dir_fd, follow_symlinks=False)

    # -- reads ----------------------------------------------------------------------------------
    def open(self, path: str, *, field: str = "path") -> int:
        """A read-only descriptor of the regular file ``path``; the caller closes it."""
        parts = split_path(path, field=field, allow_root=False)
        with self._directory(parts[:-1], field=field) as dir_fd:
            return self._open_file(parts[-1], dir_fd, os.O_RDONLY, field=field, path=path)

    def read(self, path: str, *, max_bytes: int, field: str = "path") -> bytes:
        fd = self.open(path, field=field)
        try:
            if os.fstat(fd).st_size > max_bytes:
                raise PayloadTooLarge(f"{path} is larger than {max_bytes} bytes.")
            with os.fdopen(os.dup(fd), "rb") as handle:
                return handle.read(max_bytes + 1)[:max_bytes]
        finally:
            os.close(fd)

    def is_dir(self, path: str) -> bool:
        try:
            with self._directory(split_path(path)):
                return True
        except (NotFound, Invalid):
            return False

    def _open_file(self, name: str, dir_fd: int, flags: int, *, field: str, path: str, mode: int = 0o644) -> int:
        try:
            # O_NONBLOCK: opening a FIFO the sandbox made must not hang the platform.
            fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode, dir_fd=dir_fd)
        except FileNotFoundError:
            raise NotFound(f"{path} does not exist.") from None
        except IsADirectoryError:
            raise Invalid(f"{path} is a directory.", field_errors={field: ["A directory, not a file."]}) from None
        except OSError as exc:
            if _is_link(name, dir_fd):
                raise _refuse_link(path, field) from exc
            raise Invalid(f"{path} cannot be opened.", field_errors={field: ["Cannot be opened."]}) from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise Invalid(f"{path} is not a regular file.", field_errors={field: ["Not a regular file."]})
        os.set_blocking(fd, True)
        return fd

    def list(self, path: str = "", *, recursive: bool = False, limit: int = 5000) -> list[Entry]:
        parts = split_path(path)
        entries: list[Entry] = []
        with self._directory(parts) as dir_fd:
            self._scan(dir_fd, "/".join(parts), entries, recursive=recursive, limit=limit)
        return entries

    def _scan(self, dir_fd: int, prefix: str, out: list[Entry], *, recursive: bool, limit: int) -> None:
        with os.scandir(dir_fd) as iterator:
            items = sorted(iterator, key=lambda item: item.name)
        for item in items:
            if len(out) >= limit:
                return
            info = item.stat(follow_symlinks=False)
            kind = _kind(info.st_mode)
            relative = f"{prefix}/{item.name}" if prefix else item.name
            out.append(Entry(relative, item.name, kind, info.st_size if kind == "file" else 0, info.st_mtime))
            if recursive and kind == "directory":
                try:
                    child = os.open(item.name, _DIR_FLAGS, dir_fd=dir_fd)
                except OSError:
                    continue
                try:
                    self._scan(child, relative, out, recursive=True, limit=limit)
                finally:
                    os.close(child)

    def tree(self, path: str = "", *, limit: int = 5000) -> list[dict]:
        """Nested ``{name, path, type, size, children?}`` of the directory ``path``."""
        nodes: dict[str, dict] = {}
        roots: list[dict] = []
        base = "/".join(split_path(path))
        for entry in self.list(path, recursive=True, limit=limit):
            node = {"name": entry.name, "path": entry.path, "type": entry.type, "size": entry.size}
            if entry.type == "directory":
                node["children"] = []
            nodes[entry.path] = node
            parent = posixpath.dirname(entry.path)
            (nodes[parent]["children"] if parent != base and parent in nodes else roots).append(node)
        return roots

    def usage(self) -> int:
        """Bytes used by the workspace, counted without following links."""
        total = 0
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            for name in filenames + dirnames:
                try:
                    total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
                except OSError:
                    continue
        return total

    def iter_files(self, path: str = "") -> Iterator[tuple[str, int]]:
        """``(relative path, open descriptor)`` of every regular file; the caller closes each."""
        parts = split_path(path)
        with self._directory(parts) as dir_fd:
            yield from self._walk_files(dir_fd, "/".join(parts))

    def _walk_files(self, dir_fd: int, prefix: str) -> Iterator[tuple[str, int]]:
        with os.scandir(dir_fd) as iterator:
            items = sorted(iterator, key=lambda item: item.name)
        for item in items:
            relative = f"{prefix}/{item.name}" if prefix else item.name
            mode = item.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                try:
                    child = os.open(item.name, _DIR_FLAGS, dir_fd=dir_fd)
                except OSError:
                    continue
                try:
                    yield from self._walk_files(child, relative)
                finally:
                    os.close(child)
            elif stat.S_ISREG(mode):
                try:
                    fd = os.open(item.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
                except OSError:
                    continue
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    yield relative, fd
                else:
                    os.close(fd)

    # -- writes ---------------------------------------------------------------------------------
    def write(self, path: str, data: bytes, *, field: str = "path") -> int:
        parts = split_path(path, field=field, allow_root=False)
        if self.disk_bytes is not None and self.usage() + len(data) > self.disk_bytes:
            raise PayloadTooLarge(f"The sandbox's disk limit ({self.disk_bytes} bytes) would be exceeded.")
        with self._directory(parts[:-1], create=True, field=field) as dir_fd:
            fd = self._open_file(parts[-1], dir_fd, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, field=field, path=path)
            try:
                with os.fdopen(os.dup(fd), "wb") as handle:
                    handle.write(data)
                if self.uid is not None:
                    os.fchown(fd, self.uid, self.uid)
            finally:
                os.close(fd)
        return len(data)

    def write_stream(self, path: str, chunks: Iterator[bytes], *, max_bytes: int, field: str = "path") -> int:
        """Write ``chunks`` to ``path``; past ``max_bytes`` the partial file is removed and it is a 413."""
        parts = split_path(path, field=field, allow_root=False)
        budget = max_bytes
        if self.disk_bytes is not None:
            budget = min(budget, max(self.disk_bytes - self.usage(), 0))
        with self._directory(parts[:-1], create=True, field=field) as dir_fd:
            fd = self._open_file(parts[-1], dir_fd, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, field=field, path=path)
            written = 0
            try:
                with os.fdopen(os.dup(fd), "wb") as handle:
                    for chunk in chunks:
                        written += len(chunk)
                        if written > budget:
                            break
                        handle.write(chunk)
                if self.uid is not None:
                    os.fchown(fd, self.uid, self.uid)
            finally:
                os.close(fd)
            if written > budget:
                os.unlink(parts[-1], dir_fd=dir_fd)
                raise PayloadTooLarge(f"The file is larger than the {budget} bytes allowed here.")
        return written

    def mkdir(self, path: str) -> None:
        with self._directory(split_path(path, allow_root=False), create=True):
            pass

    def delete(self, path: str) -> None:
        parts = split_path(path, allow_root=False)
        with self._directory(parts[:-1]) as dir_fd:
            try:
                info = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                raise NotFound(f"{path} does not exist.") from None
            if stat.S_ISDIR(info.st_mode):
                # rmtree with dir_fd works on descriptors throughout, so it is safe against links.
                shutil.rmtree(parts[-1], dir_fd=dir_fd)
            else:
                os.unlink(parts[-1], dir_fd=dir_fd)


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"
