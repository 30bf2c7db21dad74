"""Issue 17, items 14-16: the local HTTP API's token file, its defences against token-less or stalled
connections, and its bound on the paths of one query; item 17's token read from a file or stdin.

Real servers on 127.0.0.1 (in this process, or `simgui-cli serve` in a child process whose memory and
threads are read from /proc), real library folders, real photos.
"""
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import simgui.api as api
from conftest import PHOTOS, photo, stem_of
from simgui.api import ApiServer, library_token
from simgui.core.library import Library

TOKEN = "safety-test-token-0123456789"
NAMES = [source.stem for source in PHOTOS]


# helpers -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("safety-api") / "photos"
    folder.mkdir()
    for source in PHOTOS:
        shutil.copy(source, folder / source.name)
    library = Library(tmp_path_factory.mktemp("safety-api-library"))
    library.add_roots([str(folder)])
    library.update()
    running = ApiServer(library, TOKEN, port=0)
    threading.Thread(target=running.serve_forever, daemon=True).start()
    yield running
    running.shutdown()
    library.close()


@pytest.fixture
def cli_server(library_dir):
    """`simgui-cli serve` on an empty library, in a child process: (process, port, token)."""
    process = subprocess.Popen([sys.executable, "-m", "simgui.cli", "--library", str(library_dir), "serve",
                                "--port", "0"], stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    port = int(line.split("http://127.0.0.1:")[1].split(" ")[0])
    yield process, port, (library_dir / "api-token").read_text().strip()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def status_of(pid: int) -> dict:
    """The kernel's /proc/PID/status figures, as numbers (kB for memory)."""
    lines = open(f"/proc/{pid}/status").read().splitlines()
    return {key: int(value.split()[0]) for key, value in (line.split(":", 1) for line in lines)
            if value.split() and value.split()[0].isdigit()}


def call(port: int, method: str, path: str, body=None, token: str | None = TOKEN) -> tuple[int, object]:
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return response.status, answer


def raw_request(port: int, head: bytes, timeout: float = 60) -> bytes:
    """Sends only the request's head (no body) and returns what the server answers before it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def serve_in_process(library: Library, token: str) -> ApiServer:
    running = ApiServer(library, token, port=0)
    threading.Thread(target=running.serve_forever, daemon=True).start()
    return running


# item 14: the token file -------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", [b"", b"\n", b"   \n", b"abc\n", b"\x00\x00\x00\x00", b"\xff\xfe" * 20])
def test_item14_an_empty_or_damaged_token_file_is_replaced_by_a_fresh_token(library_dir, damage):
    library = Library(library_dir)
    path = library_dir / "api-token"
    path.write_bytes(damage)
    os.chmod(path, 0o600)
    token = library_token(library)
    assert len(token) >= 32 and path.read_text() == token + "\n"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in library_dir.iterdir() if "token" in p.name) == ["api-token"]  # no temp file left
    running = serve_in_process(library, token)
    try:
        assert call(running.port, "GET", "/v1/stats", token="")[0] == 401  # "Bearer " with nothing after it
        assert call(running.port, "GET", "/v1/stats", token=token)[0] == 200
    finally:
        running.shutdown()
        library.close()


def test_item14_a_fresh_token_file_is_made_once_and_kept(library_dir):
    library = Library(library_dir)
    old_umask = os.umask(0)  # a careless umask must not make the token file readable by others
    try:
        token = library_token(library)
    finally:
        os.umask(old_umask)
        library.close()
    path = library_dir / "api-token"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600" and path.read_text() == token + "\n"
    again = Library(library_dir)
    assert library_token(again) == token
    again.close()
    assert [p.name for p in library_dir.iterdir() if "token" in p.name] == ["api-token"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_item14_a_token_file_readable_by_others_is_refused_with_the_reason(library_dir, mode):
    library = Library(library_dir)
    path = library_dir / "api-token"
    path.write_text(TOKEN + "\n")
    os.chmod(path, mode)
    with pytest.raises(api.TokenError, match="readable by other users") as refused:
        library_token(library)
    assert str(path) in str(refused.value) and "delete it" in str(refused.value)
    assert path.read_text() == TOKEN + "\n"  # left as it is for its owner to look at
    library.close()
    serving = subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library_dir), "serve",
                              "--port", "0"], capture_output=True, text=True, timeout=120)
    assert serving.returncode == 1 and "readable by other users" in serving.stderr


def test_item14_a_token_file_that_is_a_symlink_is_refused(library_dir, tmp_path):
    library = Library(library_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text(TOKEN + "\n")
    os.chmod(elsewhere, 0o600)
    os.symlink(elsewhere, library_dir / "api-token")
    with pytest.raises(api.TokenError, match="not a plain file"):
        library_token(library)
    library.close()


@pytest.mark.parametrize("given, reason", [("", "empty"), ("short", "at least 16"),
                                           ("has a space in it 0123456789", "spaces"),
                                           ("0123456789abcdef\n", "spaces")])
def test_item14_empty_or_short_tokens_given_to_the_server_are_refused(library_dir, given, reason):
    library = Library(library_dir)
    with pytest.raises(api.TokenError, match=reason):
        ApiServer(library, given, port=0)
    library.close()


def test_item14_short_tokens_from_the_command_line_or_the_environment_stop_serve(library_dir):
    command = [sys.executable, "-m", "simgui.cli", "--library", str(library_dir), "serve", "--port", "0"]
    by_option = subprocess.run(command + ["--token", "abc"], capture_output=True, text=True, timeout=120)
    assert by_option.returncode == 1 and "at least 16" in by_option.stderr
    environment = {**os.environ, "SIMGUI_API_TOKEN": "1234"}
    by_variable = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment)
    assert by_variable.returncode == 1 and "at least 16" in by_variable.stderr


# item 15: token before body, idle sockets time out, connections bounded -----------------------------------
@pytest.mark.parametrize("authorization", [b"", b"Authorization: Bearer \r\n", b"Authorization: Bearer nope\r\n"])
def test_item15_a_request_without_the_token_is_refused_before_its_body_is_read(server, authorization):
    head = (b"POST /v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: 60000000\r\n" + authorization + b"\r\n")  # under the 64 MB an upload may have
    answer = raw_request(server.port, head)  # no body follows: a server that waits for it never answers
    assert answer.startswith(b"HTTP/1.1 401 ") and b"token" in answer
    assert call(server.port, "GET", "/v1/stats")[0] == 200  # and the server goes on


def test_item15_token_less_uploads_do_not_grow_the_server_memory(cli_server):
    process, port, _ = cli_server
    before = status_of(process.pid)

    def upload(n: int) -> bytes:
        size = 60 * 2**20
        head = (b"POST /v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                b"Content-Length: %d\r\n\r\n" % size)
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            sock.sendall(head)
            try:
                for _ in range(60):
                    sock.sendall(b"\xff" * 2**20)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed without reading the body: what this test wants
            try:
                return sock.recv(200)
            except ConnectionResetError:
                return b"reset"
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(upload, range(10)))
    after = status_of(process.pid)
    grown_mb = (after["VmHWM"] - before["VmHWM"]) / 1024
    print(f"server RSS {before['VmRSS'] / 1024:.0f} MB -> {after['VmRSS'] / 1024:.0f} MB, "
          f"peak {before['VmHWM'] / 1024:.0f} MB -> {after['VmHWM'] / 1024:.0f} MB, answers {set(answers)}")
    assert grown_mb < 100, f"the server's peak memory grew by {grown_mb:.0f} MB for 10 token-less uploads"
    assert all(a.startswith(b"HTTP/1.1 401 ") or a in (b"", b"reset") for a in answers), answers


def test_item15_stalled_connections_time_out_and_do_not_each_keep_a_thread(cli_server):
    process, port, token = cli_server
    threads_before = status_of(process.pid)["Threads"]
    stalled = []
    for _ in range(api.MAX_CONNECTIONS + 36):  # more than the server takes at once
        sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        sock.sendall(b"GET /v1/sta")  # half a request line, and nothing more
        stalled.append(sock)
    peak, until = 0, time.monotonic() + 3
    while time.monotonic() < until:
        peak = max(peak, status_of(process.pid)["Threads"])
        time.sleep(0.05)
    print(f"server threads: {threads_before} before, peak {peak} with {len(stalled)} stalled connections")
    assert peak <= threads_before + api.MAX_CONNECTIONS
    for sock in stalled:  # the server closes each one after its idle timeout (recv sees the end)
        while sock.recv(65536):
            pass
        sock.close()
    status, answer = call(port, "GET", "/v1/stats", token=token)
    assert status == 200 and answer["images"] == 0
    deadline = time.monotonic() + 60
    while status_of(process.pid)["Threads"] > threads_before + 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    print(f"server threads after the timeouts: {status_of(process.pid)['Threads']}")
    assert status_of(process.pid)["Threads"] <= threads_before + 1


# item 16: paths per query bounded, answered in batches ----------------------------------------------------
def test_item16_more_paths_than_the_bound_are_refused_with_413(server):
    paths = [f"/nonexistent/{n}.jpg" for n in range(api.MAX_QUERY_PATHS + 1)]
    status, answer = call(server.port, "POST", "/v1/query", {"paths": paths, "top": 3})
    assert status == 413 and f"at most {api.MAX_QUERY_PATHS} paths" in answer["error"]
    status, answer = call(server.port, "POST", "/v1/query", {"paths": paths[:api.MAX_QUERY_PATHS], "top": 3})
    assert status == 200 and len(answer) == api.MAX_QUERY_PATHS


def test_item16_a_long_query_is_answered_in_order_and_lets_other_calls_in_between_batches(server, tmp_path):
    paths = []
    for n in range(api.MAX_QUERY_PATHS):  # distinct files, one in four missing
        name = NAMES[n % len(NAMES)]
        path = tmp_path / (f"{name}_{n}.jpg" if n % 4 else f"missing_{n}.jpg")
        if n % 4:
            shutil.copy(photo(name), path)
        paths.append(str(path))
    paths[7] = paths[3]  # a path given twice is answered at both places
    with ThreadPoolExecutor(max_workers=1) as pool:
        long_query = pool.submit(call, server.port, "POST", "/v1/query", {"paths": paths, "top": 2})
        deadline = time.monotonic() + 120
        while not server.jobs.busy():
            assert time.monotonic() < deadline, "the query never reached the engine"
            time.sleep(0.005)
        assert call(server.port, "GET", "/v1/stats")[0] == 200
        # the stats call was let in between two batches: it is answered while the query is still going
        # (sampling busy() here would race the instant between two batches, when the queue is empty)
        assert not long_query.done()
        status, answers = long_query.result()
    assert status == 200 and [a["query"] for a in answers] == paths
    for n, answer in enumerate(answers):
        if "missing_" in paths[n]:
            assert answer["error"] and answer["results"] == []
        else:
            assert stem_of(answer["results"][0]["path"]) == stem_of(paths[n])


# item 17 (part): a token from a file or stdin, never on the command line ------------------------------------
def test_item17_token_read_from_a_file_or_stdin_is_checked_like_the_others(tmp_path, monkeypatch):
    good = tmp_path / "token"
    good.write_text(TOKEN + "\n")
    assert api.read_token_from(str(good)) == TOKEN
    monkeypatch.setattr(sys, "stdin", io.StringIO(TOKEN + "\n"))
    assert api.read_token_from("-") == TOKEN
    for content, reason in [("", "empty"), ("\n", "empty"), ("short\n", "at least 16"),
                            (TOKEN + "\n" + TOKEN + "\n", "spaces")]:
        (tmp_path / "bad").write_text(content)
        with pytest.raises(api.TokenError, match=reason) as refused:
            api.read_token_from(str(tmp_path / "bad"))
        assert str(tmp_path / "bad") in str(refused.value)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(api.TokenError, match="empty"):
        api.read_token_from("-")
    with pytest.raises(api.TokenError, match="cannot read"):
        api.read_token_from(str(tmp_path / "missing"))
