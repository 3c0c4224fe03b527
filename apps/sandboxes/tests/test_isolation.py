"""The isolation a sandbox promises, each test failing if it broke (docs/sandboxes.md)."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from django.conf import settings

from apps.core.errors import Invalid, NotFound
from apps.sandboxes import services
from apps.sandboxes.tests.conftest import needs_bwrap, run

pytestmark = [pytest.mark.django_db(transaction=True), needs_bwrap]


def test_it_runs_as_an_unprivileged_user_with_no_capabilities(sandbox):
    result = run(sandbox, "id -u; grep CapEff /proc/self/status; cat /proc/1/cmdline | tr '\\0' ' '")
    uid, caps, init = result.stdout.splitlines()
    assert uid == "1000"
    assert caps.split()[1] == "0000000000000000"
    assert "bwrap" in init  # PID 1 is the sandbox's own init: the host's processes are not visible


def test_it_sees_no_host_processes(sandbox):
    result = run(sandbox, "ls /proc | grep -c '^[0-9]'")
    assert int(result.stdout.strip()) < 10
    assert os.getpid() > 0 and f"\n{os.getpid()}\n" not in run(sandbox, "ls /proc").stdout


def test_it_cannot_read_host_secrets_or_the_platform(sandbox):
    result = run(sandbox, f"cat /etc/shadow; ls {settings.BASE_DIR}; ls /root; ls {settings.SANDBOX_ROOT}")
    assert result.exit_code != 0
    assert result.stdout.strip() == ""
    assert result.stderr.count("No such file") == 4
    environment = run(sandbox, "env; cat /proc/1/environ").stdout
    for secret in ("REDIS", "DATABASE", "SECRET", "DJANGO", "TOKEN", "KEY"):
        assert secret not in environment


def test_it_cannot_read_the_projects_var_or_another_sandbox(alice, bob, sandbox):
    other = services.sandbox_create(user=bob, template_id="python")
    services.file_write(sandbox=other, path="secret.txt", data=b"bob's secret")
    other_ws = services.sandbox_spec(other).workspace
    assert (other_ws / "secret.txt").exists()
    result = run(sandbox, f"cat {other_ws}/secret.txt; cat /workspace/../{other.public_id}/workspace/secret.txt; "
                          f"ls {settings.VAR_DIR}; find / -name secret.txt 2>/dev/null")
    assert "bob's secret" not in result.stdout
    assert "secret.txt" not in result.stdout


def test_the_host_filesystem_is_read_only_except_the_workspace(sandbox):
    result = run(sandbox, "for p in /usr/x /etc/x /x /dev/x /opt/x; do touch $p 2>&1; done; touch /tmp/ok /workspace/ok && echo wrote")
    assert "wrote" in result.stdout
    assert result.stdout.count("Read-only file system") == 5
    assert not Path("/usr/x").exists()


@pytest.mark.parametrize("address", [("127.0.0.1", 6379), ("127.0.0.1", 5432), ("127.0.0.1", 8000), ("10.0.0.1", 80)])
def test_no_connection_leaves_the_sandbox(sandbox, address):
    host, port = address
    script = (
        "import socket\n"
        "s = socket.socket(); s.settimeout(2)\n"
        f"print(s.connect_ex(({host!r}, {port})))\n"
    )
    services.file_write(sandbox=sandbox, path="probe.py", data=script.encode())
    result = run(sandbox, "python3 probe.py")
    assert result.stdout.strip() in ("111", "101", "113")  # refused (own loopback) or no route: never 0


def test_a_listening_host_port_is_unreachable(sandbox):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        result = run(sandbox, f"python3 -c \"import socket;print(socket.socket().connect_ex(('127.0.0.1',{port})))\"")
    assert result.stdout.strip() == "111"


def test_host_unix_sockets_are_unreachable(sandbox):
    # The test database's own socket: a real host service the platform is talking to right now.
    host_sockets = [str(path) for path in Path(settings.EMBEDDED_POSTGRES_DIR).rglob(".s.PGSQL.*") if path.is_socket()]
    host_sockets += ["/var/run/postgresql/.s.PGSQL.5432", "/run/redis/redis-server.sock", "/var/run/docker.sock"]
    script = (
        "import socket, sys\n"
        "for path in sys.argv[1:]:\n"
        "    s = socket.socket(socket.AF_UNIX)\n"
        "    try:\n"
        "        s.connect(path); print('CONNECTED', path)\n"
        "    except OSError as exc:\n"
        "        print('refused', type(exc).__name__)\n"
    )
    services.file_write(sandbox=sandbox, path="unix.py", data=script.encode())
    result = run(sandbox, "python3 unix.py " + " ".join(host_sockets))
    assert "CONNECTED" not in result.stdout
    assert result.stdout.count("refused") == len(host_sockets)
    interfaces = run(sandbox, "tail -n +3 /proc/net/dev").stdout.split("\n")
    assert [line.split(":")[0].strip() for line in interfaces if line.strip()] == ["lo"]


def test_a_command_past_its_timeout_is_killed_with_its_children(sandbox):
    started = time.monotonic()
    result = run(sandbox, "(sleep 300 &) ; sleep 300", timeout=1)
    assert result.timed_out and result.killed_reason == "timeout"
    assert result.exit_code is None
    assert "timeout" in result.stderr
    assert time.monotonic() - started < 60
    assert services.backend_for(sandbox)._session_pids(services.sandbox_spec(sandbox)) == []


def test_a_fork_bomb_is_stopped_by_the_process_limit(sandbox):
    result = run(sandbox, "bomb() { bomb | bomb & }; bomb; sleep 2; echo survived", timeout=15)
    assert "fork" in result.stderr.lower() or "resource" in result.stderr.lower() or result.killed_reason
    assert run(sandbox, "echo still-usable").stdout.strip() == "still-usable"


def test_a_memory_hog_is_stopped(sandbox):
    result = run(sandbox, "python3 -c 'x = bytearray(2 * 1024 ** 3); print(len(x))'")
    assert result.exit_code != 0
    assert "MemoryError" in result.stderr


def test_a_cpu_spin_is_stopped_by_its_cpu_limit(sandbox, settings):
    sandbox.cpu_seconds = 1
    sandbox.save()
    result = run(sandbox, "python3 -c 'while True: pass'", timeout=60)
    assert result.exit_code in (137, 152, 128 + 24)  # SIGXCPU (24) or SIGKILL at the hard limit
    assert not result.timed_out


def test_a_disk_filler_is_stopped(sandbox):
    sandbox.disk_bytes = 8 * 1024 * 1024
    sandbox.save()
    result = run(sandbox, "dd if=/dev/zero of=big bs=1M count=100 2>&1; echo done", timeout=30)
    assert (services.sandbox_spec(sandbox).workspace / "big").stat().st_size <= 8 * 1024 * 1024
    assert "File size limit" in result.stdout + result.stderr or result.exit_code != 0
    many = run(sandbox, "i=0; while true; do i=$((i+1)); head -c 4000000 /dev/zero > f$i || true; done", timeout=30)
    assert many.killed_reason == "disk"


def test_tmp_is_private_and_bounded(sandbox):
    run(sandbox, "echo mine > /tmp/x")
    assert run(sandbox, "cat /tmp/x").exit_code != 0  # a fresh /tmp per command
    result = run(sandbox, f"head -c {settings.SANDBOX_TMP_BYTES + 1024 * 1024} /dev/zero > /tmp/fill; echo $?")
    assert result.stdout.strip() != "0"


def test_no_new_namespaces_or_setuid_inside(sandbox):
    result = run(sandbox, "unshare -U true 2>&1; echo rc=$?; python3 -c 'import os; os.setuid(0)' 2>&1 | tail -1")
    assert "rc=0" not in result.stdout
    assert "PermissionError" in result.stdout or "Invalid argument" in result.stdout  # uid 0 is not even mapped


@pytest.mark.parametrize("path", ["../x", "../../etc/passwd", "/etc/passwd", "a/../../x", "/workspace/../etc/passwd"])
def test_traversal_is_refused_by_every_file_service(sandbox, path):
    for call in (
        lambda: services.file_read(sandbox=sandbox, path=path),
        lambda: services.file_write(sandbox=sandbox, path=path, data=b"x"),
        lambda: services.file_list(sandbox=sandbox, path=path),
        lambda: services.file_delete(sandbox=sandbox, path=path),
        lambda: services.file_mkdir(sandbox=sandbox, path=path),
        lambda: list(services.file_archive(sandbox=sandbox, path=path)),
    ):
        with pytest.raises(Invalid):
            call()


def test_symlinks_made_inside_are_never_followed_by_the_platform(sandbox, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host secret")
    run(sandbox, f"ln -s /etc/shadow shadow; ln -s {outside} out; ln -s {outside}/secret s; mkfifo pipe")
    for path in ("shadow", "s", "out/secret"):
        with pytest.raises((Invalid, NotFound)):
            services.file_read(sandbox=sandbox, path=path)
        with pytest.raises((Invalid, NotFound)):
            services.file_write(sandbox=sandbox, path=path, data=b"overwritten")
    with pytest.raises(Invalid):
        services.file_read(sandbox=sandbox, path="pipe")  # a FIFO would block a reader forever
    with pytest.raises((Invalid, NotFound)):
        services.file_list(sandbox=sandbox, path="out")
    with pytest.raises((Invalid, NotFound)):
        services.file_write(sandbox=sandbox, path="out/new", data=b"x")
    names = [name for name, fd in services.file_archive(sandbox=sandbox) if os.close(fd) is None]
    assert "s" not in names and "shadow" not in names
    services.file_delete(sandbox=sandbox, path="out")  # removes the link, not what it points to
    assert (outside / "secret").read_text() == "host secret"
    assert not (outside / "new").exists()


def test_the_host_stays_responsive_while_a_sandbox_spins(sandbox):
    started = time.monotonic()
    session = services.session_start(sandbox=sandbox, name="spin", command="python3 -c 'while True: pass'")
    try:
        assert run(sandbox, "echo ok").stdout.strip() == "ok"
        assert time.monotonic() - started < 30
    finally:
        services.session_stop(session=session)
