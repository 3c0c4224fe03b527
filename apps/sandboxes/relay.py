"""Runs INSIDE a sandbox (stdlib only, started with the host's /usr/bin/python3): a session's
command, plus a relay from a Unix socket to the sandbox's own loopback ports.

The platform creates a listening Unix socket outside the sandbox and hands its descriptor to
this process; the sandbox never sees the socket's path, so it cannot swap it for a link. For
each connection the platform sends ``PORT\\n``; the relay connects to ``127.0.0.1:PORT`` inside
the sandbox's own network namespace, answers ``OK\\n`` (or ``ERR\\n``) and then copies bytes both
ways. The sandbox keeps no network of its own: it only accepts, it never connects out.

Usage: python3 relay.py FD -- COMMAND...   (exits with the command's exit code)
"""
import socket
import subprocess
import sys
import threading


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _handle(conn: socket.socket) -> None:
    line = b""
    while not line.endswith(b"\n") and len(line) < 8:
        data = conn.recv(1)
        if not data:
            conn.close()
            return
        line += data
    try:
        port = int(line.strip())
        if not 0 < port < 65536:
            raise ValueError(port)
        upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
        upstream.settimeout(None)
    except (ValueError, OSError):
        conn.sendall(b"ERR\n")
        conn.close()
        return
    conn.sendall(b"OK\n")
    back = threading.Thread(target=_pipe, args=(upstream, conn), daemon=True)
    back.start()
    _pipe(conn, upstream)
    back.join()
    conn.close()
    upstream.close()


def _serve(listener: socket.socket) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_handle, args=(conn,), daemon=True).start()


def main() -> int:
    fd = int(sys.argv[1])
    command = sys.argv[3:]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=fd)
    threading.Thread(target=_serve, args=(listener,), daemon=True).start()
    process = subprocess.Popen(command)
    return process.wait()


if __name__ == "__main__":
    sys.exit(main())
