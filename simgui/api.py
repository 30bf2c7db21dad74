"""The local HTTP API (`simgui-cli serve`): query, compare and groups for scripts and other apps.

Loopback only (127.0.0.1), and every call but the OpenAPI document needs the
token as `Authorization: Bearer <token>`: other users of the machine, and web
pages in a browser, must not read someone's photo library. The token is checked
from the headers before any body is read, so a caller without it costs the
server nothing but a header's worth of memory. Requests run on threads, at most
MAX_CONNECTIONS at once (the others wait unaccepted in the listen backlog), and
a connection silent for IDLE_TIMEOUT seconds is closed. Engine calls are jobs
of the library's JobQueue (core/jobs.py, as in the app and `watch`), run one at
a time in arrival order; a long query is one job a batch.
"""
from __future__ import annotations

import errno
import hmac
import json
import logging
import os
import secrets
import stat
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlparse

from simgui import __version__
from simgui.core.files.actions import JournalError
from simgui.core.files.disposal import Disposal
from simgui.core.answers import action_answer, comparison_answer, group_answer, history_answer, query_answer
from simgui.core.media.decode import DecodeError
from simgui.core.jobs import JobContext, JobQueue
from simgui.core.library import Library, LibraryError
from simgui.core.matching.keep_rules import KeepRules, KeepRulesError
from simgui.core.storage.exclusions import ExclusionError
from simgui.core.matching.rule import GROUP_KINDS

log = logging.getLogger(__name__)

TOKEN_FILE = "api-token"
MIN_TOKEN_LENGTH = 16  # ~96 bits in the URL-safe alphabet: not guessable over a local socket
MAX_TOKEN_LENGTH = 1024
TOKEN_FILE_MAX = 4096  # bytes read from a token file: more is not a token
MAX_BODY = 64 * 1024 * 1024  # a big photo uploaded for a query, not more
MAX_JSON_BODY = 4 * 1024 * 1024  # MAX_QUERY_PATHS long paths, escaped
UPLOAD_CHUNK = 1024 * 1024  # an upload goes to disk in pieces this big, never whole in memory
MAX_TOP = 1000
MAX_QUERY_PATHS = 100  # 400 paths held the engine 109 s and took 2.4 GB
QUERY_BATCH = 16  # paths decoded and embedded at once: bounds a query's memory, lets other calls in between
# seconds a connection may stay silent, or one answer take to send: a stalled caller must not keep its
# thread (loopback sends even a big groups answer far quicker)
IDLE_TIMEOUT = 10.0
MAX_CONNECTIONS = 64  # connections with a thread at once; more wait in the listen backlog


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str, answer: dict | None = None):
        super().__init__(message)
        self.status = status
        self.answer = answer or {}  # what the call did all the same (a file action's refusals)


class TokenError(LibraryError):
    """A token that must not be used: empty, short, or kept where others can read it.

    A LibraryError, so that simgui-cli reports it on one line and exits 1.
    """


def checked_token(token: str, where: str) -> str:
    """`token` if it is fit to guard the API; else TokenError saying why (`where`: "given with --token"...)."""
    if not token.strip():
        raise TokenError(f"the API token {where} is empty")
    if not all(c.isascii() and c.isprintable() and not c.isspace() for c in token):
        raise TokenError(f"the API token {where} has spaces, line breaks or characters outside printable ASCII: "
                         "it travels in an HTTP header as one word")
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenError(f"the API token {where} is {len(token)} characters long; at least {MIN_TOKEN_LENGTH} are "
                         "needed, since a short one can be guessed")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenError(f"the API token {where} is over {MAX_TOKEN_LENGTH} characters long")
    return token


def read_token_from(source: str) -> str:
    """The token in file `source`, or on stdin's first line for "-" (so that it never shows in `ps`), checked.

    The file's mode is not checked: its owner chose it and may share it on purpose (a secrets folder).
    """
    if source == "-":
        return checked_token(sys.stdin.readline(TOKEN_FILE_MAX).strip(), "read from stdin")
    try:
        with open(source, "rb") as f:
            content = f.read(TOKEN_FILE_MAX)
    except OSError as exc:
        raise TokenError(f"cannot read the API token file {source}: {exc.strerror}") from exc
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError:
        raise TokenError(f"the API token in {source} has characters outside printable ASCII") from None
    return checked_token(text.strip(), f"in {source}")


def library_token(library: Library) -> str:
    """The token kept in the library folder (its owner's eyes only), made on first use.

    A token file left empty or cut short (a crash or a full disk while it was written) is replaced by a
    fresh token, never accepted; one that others can read or write, or that is not a plain file, is
    refused with the reason: someone other than simgui made it so, and its owner should decide.
    """
    path = library.folder / TOKEN_FILE
    try:
        content = _read_private_file(path)
    except FileNotFoundError:
        try:
            return _write_token_file(path, replace=False)
        except FileExistsError:  # another simgui made it between our look and our link: use theirs
            content = _read_private_file(path)
    try:
        return checked_token(content.decode("ascii").strip(), f"in {path}")
    except (UnicodeDecodeError, TokenError) as exc:
        log.warning("%s is damaged (%s): a fresh token replaces it", path, exc)
        return _write_token_file(path, replace=True)


def _read_private_file(path: Path) -> bytes:
    """The first bytes of `path`, once it is known to be a plain file only its owner can read or change."""
    try:  # no following a link, no hanging on a FIFO; the checks below are on what was opened
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise TokenError(f"{path} is not a plain file but a link: delete it, and a fresh token is made") from exc
        raise TokenError(f"cannot read the API token file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as f:
        _check_private(path, os.fstat(fd))
        return f.read(TOKEN_FILE_MAX)


def _check_private(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise TokenError(f"{path} is not a plain file: delete it, and a fresh token is made")
    if os.name != "posix":
        return  # no mode bits to check: the library folder's ACL is what guards it
    if info.st_uid != os.getuid():
        raise TokenError(f"{path} belongs to another user (uid {info.st_uid}): delete it, and a fresh token is made")
    if info.st_mode & 0o077:
        # refused rather than re-made: the token may already have been read, and only a fresh one is safe,
        # but it is the owner who should learn of it (chmod 600 alone would keep a token others saw)
        raise TokenError(f"{path} is readable by other users or writable by them (mode "
                         f"{info.st_mode & 0o777:o}): delete it, and a fresh token, readable by you alone, is made")


def _write_token_file(path: Path, replace: bool) -> str:
    """A fresh token, stored so that no reader ever sees part of it.

    Written to a private (0600) temporary file in the same folder and synced, then linked to its name
    (`replace` False: never over a token another process has just made, FileExistsError then) or renamed
    over a damaged one.
    """
    token = secrets.token_urlsafe(32)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{TOKEN_FILE}-", dir=path.parent)  # 0600, whatever the umask
    except OSError as exc:
        raise TokenError(f"cannot write the API token file {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(temp, path)
        else:
            os.link(temp, path)
        _sync_folder(path.parent)
    except FileExistsError:
        raise
    except OSError as exc:
        raise TokenError(f"cannot write the API token file {path}: {exc.strerror}") from exc
    finally:
        if os.path.lexists(temp):  # renamed away when replacing; still there after a link or a failure
            os.unlink(temp)
    return token


def _sync_folder(folder: Path) -> None:
    """Makes a new name in `folder` survive a power cut (POSIX: the folder itself must be synced)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def openapi_document() -> dict:
    error = {"description": "what was wrong", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"error": {"type": "string"}}}}}}
    auth_errors = {"401": error, "400": error}
    return {
        "openapi": "3.0.3",
        "info": {"title": "simgui local API", "version": __version__,
                 "description": "Duplicate and similar photos of one simgui library. Listens on 127.0.0.1 only; "
                                "send `Authorization: Bearer <token>` (the token is in the library folder's "
                                "`api-token` file, or the one given to `simgui-cli serve`). A query names at most "
                                f"{MAX_QUERY_PATHS} paths."},
        "servers": [{"url": "http://127.0.0.1:{port}", "variables": {"port": {"default": "8765"}}}],
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": {
            "/v1/stats": {"get": {"summary": "Counts: images, skipped, distinct contents, folders",
                                  "responses": {"200": {"description": "counts"}, **auth_errors}}},
            "/v1/groups": {"get": {
                "summary": f"Duplicate groups ({' | '.join(GROUP_KINDS)}), each with its keeper",
                "parameters": [{"name": "kind", "in": "query", "schema": {"enum": list(GROUP_KINDS)}}],
                "responses": {"200": {"description": '{"groups": [{"kind", "keeper", "members": [...]}]}'},
                              **auth_errors}}},
            "/v1/query": {"post": {
                "summary": "Look-alikes of images: JSON {\"paths\": [...], \"top\": 10} naming files on this "
                           "machine, or the image itself as the body (Content-Type image/*, ?top=10)",
                "requestBody": {"content": {
                    "application/json": {"schema": {"type": "object", "required": ["paths"], "properties": {
                        "paths": {"type": "array", "items": {"type": "string"},
                                  "minItems": 1, "maxItems": MAX_QUERY_PATHS},
                        "top": {"type": "integer", "minimum": 1, "maximum": MAX_TOP}}}},
                    "image/*": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {"200": {"description": '[{"query", "results": [{"path", "score", "verdict", '
                                                     '"agreement", "another_moment"}], "error"?}]'},
                              "413": error, "422": error, **auth_errors}}},
            "/v1/compare": {"post": {
                "summary": "How alike two image files are",
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "required": ["a", "b"],
                    "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}}}},
                "responses": {"200": {"description": '{"score", "verdict", "agreement", "another_moment", '
                                                     '"differing_share", "changed_share", "cut_away_share"}'},
                              "413": error, "422": error, **auth_errors}}},
            "/v1/delete": _file_action_doc("Move photos to simgui's trash (undo brings them back)",
                                           {"paths": {"type": "array", "items": {"type": "string"}}}, error),
            "/v1/merge": _file_action_doc("Keep one photo, move the others to simgui's trash (or to_folder, or "
                                          "make identical copies hard links to the keeper: hard_link)",
                                          {"keeper": {"type": "string"},
                                           "paths": {"type": "array", "items": {"type": "string"}},
                                           "to_folder": {"type": "string"}, "hard_link": {"type": "boolean"}},
                                          error),
            "/v1/undo": _file_action_doc("Put back the newest action that can come back, or action ID",
                                         {"action": {"type": "integer"}}, error),
            "/v1/empty-trash": _file_action_doc("Send simgui's trash on to the system trash", {}, error),
            "/v1/keep-rules": _keep_rules_doc(auth_errors),
            "/v1/folders": _folders_doc(auth_errors),
            "/v1/history": _history_doc(error, auth_errors),
        },
    }


def _history_doc(error: dict, auth_errors: dict) -> dict:
    return {"get": {"summary": "File actions, newest first, each file and where it is now",
                    "responses": {"200": {"description": '[{"id", "kind", "label", "files", "moves", "undone", "at"}]'},
                                  "503": error, **auth_errors}}}


def _keep_rules_doc(auth_errors: dict) -> dict:
    return {
        "get": {"summary": "Which copy of each group is kept: the rules in order, the formats and folders they "
                           "prefer (a K choice and protected folders always come first)",
                "responses": {"200": {"description": '{"order": [...], "formats": [...], "folders": [...]}'},
                              **auth_errors}},
        "post": {"summary": "Change the keep rules: any of order, formats, folders (lists of strings)",
                 "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                     key: {"type": "array", "items": {"type": "string"}} for key in ("order", "formats", "folders")}}}}},
                 "responses": {"200": {"description": "the rules as saved"}, **auth_errors}}}


def _folders_doc(auth_errors: dict) -> dict:
    return {
        "get": {"summary": "Protected folders (never moved, kept first) and what is left out of the library "
                           "(folders, or name patterns such as *.png)",
                "responses": {"200": {"description": '{"protected": [...], "excluded": [...]}'}, **auth_errors}},
        "post": {"summary": "Replace either list; left-out photos leave the library at the next index (never the "
                            "disk)",
                 "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                     key: {"type": "array", "items": {"type": "string"}} for key in ("protected", "excluded")}}}}},
                 "responses": {"200": {"description": "both lists as saved"}, **auth_errors}}}


def _file_action_doc(summary: str, properties: dict, error: dict) -> dict:
    return {"post": {
        "summary": summary + ". Every file is checked first; a refused action moves nothing (409).",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": properties}}}},
        "responses": {"200": {"description": '{"action", "moved", "refused": [{"path", "reason"}], "notes"}'},
                      "409": error, "503": error, "401": error, "400": error}}}


@dataclass
class Request:
    """What a call gets: the URL's query parameters and the body, a JSON one in memory or an upload on disk."""
    query: dict
    body: bytes = b""
    upload: str | None = None  # the file an uploaded image was saved to, removed after the call


class _BoundedServer(ThreadingHTTPServer):
    """At most `max_connections` connections have a thread; the next waits, accepted but without a thread,
    and the others unaccepted in the listen backlog, until one ends (a burst of scripts is served, not
    turned away, and hundreds of stalled connections cost no more threads than `max_connections`)."""
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, max_connections: int):
        self.slots = threading.BoundedSemaphore(max_connections)
        self.stopping = threading.Event()
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        while not self.slots.acquire(timeout=0.2):  # polled: shutdown() must never wait for a free slot
            if self.stopping.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: its slot is free again
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class ApiServer:
    def __init__(self, library: Library, token: str, port: int = 0):
        self.token = checked_token(token, "given to the server")
        # every call is a job of the library's one thread, in arrival order (a long query is one job a
        # batch, so other calls get in between); answers are waited for on the request's own thread
        self.jobs = JobQueue(library, deliver=lambda function, *args: function(*args))
        api = self

        class Handler(_Handler):
            server_api = api
            timeout = IDLE_TIMEOUT  # on every read and write of the connection's socket

        self.httpd = _BoundedServer(("127.0.0.1", port), Handler, MAX_CONNECTIONS)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.jobs.close()

    def _run(self, name: str, job):
        return self.jobs.submit(name, job).result()

    # the calls ---------------------------------------------------------------
    def stats(self, request: Request) -> dict:
        return self._run("stats", lambda ctx: ctx.library.stats())

    def groups(self, request: Request) -> dict:
        kind = request.query.get("kind", [None])[0]
        if kind is not None and kind not in GROUP_KINDS:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"kind must be one of {', '.join(GROUP_KINDS)}, not {kind!r}")
        groups = self._run("groups", lambda ctx: ctx.library.groups(progress=ctx.progress))
        return {"groups": [group_answer(g) for g in groups if kind is None or g.kind == kind]}

    def query(self, request: Request) -> list:
        if request.upload is not None:
            top = _top(request.query.get("top", ["10"])[0])
            answers = self._run("query", lambda ctx: ctx.library.query([request.upload], top))
            answer = query_answer("(uploaded image)", answers[0][1])
            if "error" in answer:
                raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, f"cannot read the uploaded image: {answer['error']}")
            return [answer]
        body = _json_object(request.body)
        paths = body.get("paths")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise ApiError(HTTPStatus.BAD_REQUEST, '"paths" must be a non-empty list of file paths')
        if len(paths) > MAX_QUERY_PATHS:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {MAX_QUERY_PATHS} paths a request, "
                           f"not {len(paths)}: send them in several requests")
        top = _top(body.get("top", 10))
        # each file once (Library.query orders a path given twice by its last place), a batch at a time:
        # bounded memory, and other calls get the engine in between
        wanted = [os.path.abspath(p) for p in paths]
        distinct = list(dict.fromkeys(wanted))
        found: dict = {}
        for start in range(0, len(distinct), QUERY_BATCH):
            batch = distinct[start:start + QUERY_BATCH]
            found.update(self._run("query", lambda ctx: ctx.library.query(batch, top)))
        return [query_answer(path, found[path]) for path in wanted]

    def compare(self, request: Request) -> dict:
        body = _json_object(request.body)
        a, b = body.get("a"), body.get("b")
        if not isinstance(a, str) or not isinstance(b, str):
            raise ApiError(HTTPStatus.BAD_REQUEST, '"a" and "b" must be the paths of two image files')
        try:
            return comparison_answer(self._run("compare", lambda ctx: ctx.library.compare(a, b)))
        except DecodeError as exc:
            raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, f"cannot read an image: {exc}") from exc


    def keep_rules(self, request: Request) -> dict:
        return json.loads(self._run("keep rules", lambda ctx: ctx.library.keep_rules()).to_json())

    def set_keep_rules(self, request: Request) -> dict:
        lists = _string_lists(_json_object(request.body), ("order", "formats", "folders"))

        def change(ctx: JobContext) -> KeepRules:
            rules = ctx.library.keep_rules().with_changes(**lists)
            ctx.library.set_keep_rules(rules)
            return rules
        try:
            return json.loads(self._run("keep rules", change).to_json())
        except (KeepRulesError, LibraryError) as exc:
            raise ApiError(HTTPStatus.BAD_REQUEST, str(exc)) from exc

    def folders(self, request: Request) -> dict:
        return asdict(self._run("folders", lambda ctx: ctx.library.folder_settings()))

    def set_folders(self, request: Request) -> dict:
        lists = _string_lists(_json_object(request.body), ("protected", "excluded"))
        try:
            return asdict(self._run("folders", lambda ctx: ctx.library.set_folder_settings(**lists)))
        except (ExclusionError, LibraryError) as exc:
            raise ApiError(HTTPStatus.BAD_REQUEST, str(exc)) from exc

    # file actions: the same calls, checks and answers as simgui-cli's ------------------------------------
    def delete(self, request: Request) -> dict:
        paths = _paths(_json_object(request.body), "paths")
        return self._file_action(lambda actions: actions.delete_paths(paths))

    def merge(self, request: Request) -> dict:
        body = _json_object(request.body)
        keeper, paths = _paths(body, "keeper", one=True), _paths(body, "paths")
        folder, hard_link = body.get("to_folder"), body.get("hard_link", False)
        if not (folder is None or isinstance(folder, str) and os.path.isabs(folder)) or not isinstance(hard_link, bool):
            raise ApiError(HTTPStatus.BAD_REQUEST, '"to_folder" must be a full path, "hard_link" true or false')
        if folder and hard_link:
            raise ApiError(HTTPStatus.BAD_REQUEST, 'copies go "to_folder" or become hard links ("hard_link"), not both')
        disposal = Disposal(folder, hard_link)
        return self._file_action(lambda actions: actions.merge_paths(keeper, paths, disposal))

    def undo(self, request: Request) -> dict:
        action_id = _json_object(request.body or b"{}").get("action")
        if action_id is not None and (not isinstance(action_id, int) or isinstance(action_id, bool)
                                      or not 1 <= action_id < 2 ** 63):
            raise ApiError(HTTPStatus.BAD_REQUEST, '"action" must be an action id from /v1/history')
        return self._file_action(lambda actions: actions.undo(action_id))

    def empty_trash(self, request: Request) -> dict:
        return self._file_action(lambda actions: actions.empty_trash())

    def history(self, request: Request) -> list:
        def listed(ctx: JobContext) -> list:
            return [history_answer(a, ctx.actions.journal.moves(a.id)) for a in ctx.actions.history(None)]
        try:
            return self._run("history", listed)
        except JournalError as exc:
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, str(exc)) from exc

    def _file_action(self, run) -> dict:
        try:
            answer = action_answer(self._run("file action", lambda ctx: run(ctx.actions)))
        except JournalError as exc:
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, str(exc)) from exc
        if answer["refused"]:
            raise ApiError(HTTPStatus.CONFLICT, "some files were left alone: see refused", answer)
        return answer


ROUTES = {("GET", "/v1/stats"): ApiServer.stats, ("GET", "/v1/groups"): ApiServer.groups,
          ("POST", "/v1/query"): ApiServer.query, ("POST", "/v1/compare"): ApiServer.compare,
          ("POST", "/v1/delete"): ApiServer.delete, ("POST", "/v1/merge"): ApiServer.merge,
          ("POST", "/v1/undo"): ApiServer.undo, ("POST", "/v1/empty-trash"): ApiServer.empty_trash,
          ("GET", "/v1/history"): ApiServer.history,
          ("GET", "/v1/keep-rules"): ApiServer.keep_rules, ("POST", "/v1/keep-rules"): ApiServer.set_keep_rules,
          ("GET", "/v1/folders"): ApiServer.folders, ("POST", "/v1/folders"): ApiServer.set_folders}


def _paths(body: dict, key: str, one: bool = False):
    value = body.get(key)
    if one:
        if not isinstance(value, str):
            raise ApiError(HTTPStatus.BAD_REQUEST, f'"{key}" must be the path of a photo')
        return value
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise ApiError(HTTPStatus.BAD_REQUEST, f'"{key}" must be a non-empty list of file paths')
    return value


def _top(value) -> int:
    try:
        top = int(value)
    except (TypeError, ValueError):
        raise ApiError(HTTPStatus.BAD_REQUEST, f'"top" must be a whole number, not {value!r}') from None
    if not 1 <= top <= MAX_TOP:
        raise ApiError(HTTPStatus.BAD_REQUEST, f'"top" must be between 1 and {MAX_TOP}')
    return top


def _json_object(body: bytes) -> dict:
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
    return value


class _Handler(BaseHTTPRequestHandler):
    server_api: ApiServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args) -> None:
        pass  # one line per request on stderr would drown the server's own messages

    def _handle(self, method: str) -> None:
        # until the body is read, none follows it: an answer given before then ends the connection
        self.body_unread = ("Transfer-Encoding" in self.headers
                            or self.headers.get("Content-Length", "0").strip() != "0")
        try:
            url = urlparse(self.path)
            if method == "GET" and url.path == "/openapi.json":
                self._send(HTTPStatus.OK, openapi_document())
                return
            self._check_token()  # from the headers alone: nothing more is read from a caller without the token
            route = self._route(method, url.path)
            with self._request(parse_qs(url.query)) as request:
                answer = route(self.server_api, request)
            self._send(HTTPStatus.OK, answer)
        except ApiError as exc:
            self._send(exc.status, {**exc.answer, "error": str(exc)})
        except TimeoutError:  # the caller went silent mid-body: its connection ends, its slot is freed
            self._send(HTTPStatus.REQUEST_TIMEOUT, {"error": f"nothing came for {self.timeout:g} s mid-body"})
        except Exception as exc:  # a bug must answer 500 with a message, not drop the connection
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {exc!r}"})

    def _route(self, method: str, path: str):
        route = ROUTES.get((method, path))
        if route is None:
            if any(known == path for _, known in ROUTES):
                raise ApiError(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not allowed on {path}")
            raise ApiError(HTTPStatus.NOT_FOUND, f"no such endpoint: {path} (see /openapi.json)")
        return route

    @contextmanager
    def _request(self, query: dict) -> Iterator[Request]:
        """The request with its body read: a JSON body into memory, an uploaded image to a temporary file."""
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("image/"):
            body = b"".join(self._body_pieces(self._body_length(MAX_JSON_BODY)))
            self.body_unread = False
            yield Request(query, body=body)
            return
        with tempfile.NamedTemporaryFile(prefix="simgui-api-", suffix=".img") as upload:
            for piece in self._body_pieces(self._body_length(MAX_BODY)):
                upload.write(piece)
            upload.flush()
            self.body_unread = False
            yield Request(query, upload=upload.name)

    def _body_length(self, limit: int) -> int:
        if "Transfer-Encoding" in self.headers:
            raise ApiError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length (not chunked)")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
        if length < 0:
            raise ApiError(HTTPStatus.BAD_REQUEST, "Content-Length is negative")
        if length > limit:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is over {limit // 2**20} MB")
        return length

    def _body_pieces(self, length: int) -> Iterator[bytes]:
        """The body's `length` bytes, UPLOAD_CHUNK at most at a time."""
        left = length
        while left:
            piece = self.rfile.read(min(left, UPLOAD_CHUNK))
            if not piece:
                raise ApiError(HTTPStatus.BAD_REQUEST, f"the body ended after {length - left} of its {length} bytes")
            left -= len(piece)
            yield piece

    def _check_token(self) -> None:
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {self.server_api.token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError(HTTPStatus.UNAUTHORIZED, "missing or wrong token: send 'Authorization: Bearer <token>'")

    def _send(self, status: HTTPStatus, value) -> None:
        if self.body_unread:
            self.close_connection = True
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def _string_lists(body: dict, keys: tuple[str, ...]) -> dict[str, list[str] | None]:
    """The body's lists of strings under these keys (None where a key is missing); 400 for anything else."""
    lists = {key: body.get(key) for key in keys}
    if any(v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v))
           for v in lists.values()):
        raise ApiError(HTTPStatus.BAD_REQUEST, f'{", ".join(map(json.dumps, keys[:-1]))} and {json.dumps(keys[-1])} '
                                               f'must be lists of strings')
    return lists
