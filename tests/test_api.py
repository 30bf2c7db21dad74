"""The local HTTP API over real HTTP on loopback, with a real library behind it."""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import photo, save_edit, stem_of
from simgui.api import ApiServer
from simgui.core.library import Library

TOKEN = "test-token-1234567"  # 16 characters at least


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import PHOTOS
    folder = tmp_path_factory.mktemp("api") / "photos"
    folder.mkdir()
    for source in PHOTOS:
        (folder / source.name).write_bytes(source.read_bytes())
        save_edit(source, folder / f"{source.stem}_downscale.jpg", "downscale")
    library = Library(tmp_path_factory.mktemp("api-library"))
    library.add_roots([str(folder)])
    library.update()
    api = ApiServer(library, TOKEN, port=0)
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    yield api
    api.shutdown()
    library.close()


def call(server, method, path, body=None, token=TOKEN, content_type="application/json"):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return response.status, answer


def test_listens_on_loopback_only_and_wants_the_token(server):
    assert server.httpd.server_address[0] == "127.0.0.1"
    assert call(server, "GET", "/v1/stats", token=None)[0] == 401
    status, answer = call(server, "GET", "/v1/stats", token="wrong")
    assert status == 401 and "token" in answer["error"]
    status, answer = call(server, "GET", "/v1/stats")
    assert status == 200 and answer["images"] == 10
    status, document = call(server, "GET", "/openapi.json", token=None)  # the description is public
    assert status == 200 and set(document["paths"]) == {
        "/v1/stats", "/v1/groups", "/v1/query", "/v1/compare", "/v1/delete", "/v1/merge", "/v1/undo",
        "/v1/empty-trash", "/v1/history", "/v1/keep-rules", "/v1/folders"}


def test_malformed_requests_get_4xx_with_a_message(server):
    cases = [("POST", "/v1/query", b"{not json", 400, "not valid JSON"),
             ("POST", "/v1/query", {"top": 3}, 400, '"paths"'),
             ("POST", "/v1/query", {"paths": ["/x.jpg"], "top": "many"}, 400, '"top"'),
             ("POST", "/v1/query", [1, 2], 400, "JSON object"),
             ("POST", "/v1/compare", {"a": 1}, 400, '"a" and "b"'),
             ("POST", "/v1/compare", {"a": "/nope.jpg", "b": "/nope2.jpg"}, 422, "cannot read"),
             ("GET", "/v1/groups?kind=blurry", None, 400, "kind"),
             ("GET", "/v1/query", None, 405, "not allowed"),
             ("GET", "/v2/everything", None, 404, "no such endpoint"),
             ("POST", "/v1/query?top=3", b"not an image at all", 422, "cannot read the uploaded image")]
    for method, path, body, status, words in cases:
        content_type = "image/jpeg" if body == b"not an image at all" else "application/json"
        got, answer = call(server, method, path, body, content_type=content_type)
        assert (got, words in answer.get("error", "")) == (status, True), (method, path, got, answer)


def test_keep_rules_over_http_pick_the_keepers_the_app_and_the_cli_pick(server):
    from simgui.core.matching.keep_rules import DEFAULT_RULES
    status, rules = call(server, "GET", "/v1/keep-rules")
    assert status == 200 and rules == json.loads(DEFAULT_RULES.to_json())
    status, answer = call(server, "GET", "/v1/groups?kind=near")
    assert all("_downscale" not in g["keeper"] for g in answer["groups"])  # the largest copy, by default
    try:
        status, rules = call(server, "POST", "/v1/keep-rules", {"order": ["file-size"]})
        assert status == 200 and rules["order"] == ["file-size"] and rules["formats"] == list(DEFAULT_RULES.formats)
        status, answer = call(server, "GET", "/v1/groups?kind=near")
        for group in answer["groups"]:
            assert group["keeper"] == max(group["members"], key=lambda m: m["size"])["path"]
        for body, words in (({"order": ["prettiest"]}, "prettiest"), ({"formats": "JPEG"}, "lists of strings"),
                            ({"folders": ["/no/such/folder"]}, "not a folder")):
            status, answer = call(server, "POST", "/v1/keep-rules", body)
            assert status == 400 and words in answer["error"], answer
    finally:
        call(server, "POST", "/v1/keep-rules", json.loads(DEFAULT_RULES.to_json()))


def test_query_compare_and_groups(server, tmp_path):
    dropped = save_edit(photo("rocket"), tmp_path / "rocket_crop.jpg", "crop")
    status, answers = call(server, "POST", "/v1/query", {"paths": [str(dropped)], "top": 3})
    assert status == 200 and stem_of(answers[0]["results"][0]["path"]) == "rocket"
    status, answers = call(server, "POST", "/v1/query?top=2", dropped.read_bytes(), content_type="image/jpeg")
    assert status == 200 and stem_of(answers[0]["results"][0]["path"]) == "rocket"  # the image itself, uploaded
    status, answer = call(server, "POST", "/v1/compare", {"a": str(photo("rocket")), "b": str(dropped)})
    assert status == 200 and answer["verdict"] == "near"
    status, answer = call(server, "GET", "/v1/groups?kind=near")
    assert status == 200 and len(answer["groups"]) == 5
    assert all(len({stem_of(m["path"]) for m in g["members"]}) == 1 for g in answer["groups"])


def test_100_concurrent_queries_are_all_answered(server):
    names = ["chelsea", "coffee", "rocket", "astronaut", "hubble_deep_field"]

    def one(n):
        name = names[n % len(names)]
        return name, call(server, "POST", "/v1/query", {"paths": [str(photo(name))], "top": 3})
    with ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(one, range(100)))
    assert all(status == 200 for _, (status, _) in results)
    assert all(stem_of(answer[0]["results"][0]["path"]) == name for name, (_, answer) in results)


def test_cli_serve_starts_answers_and_stops_on_sigterm(photo_folder, library_dir):
    subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library_dir), "index", str(photo_folder)],
                   check=True, capture_output=True)
    process = subprocess.Popen([sys.executable, "-m", "simgui.cli", "--library", str(library_dir), "serve",
                                "--port", "0"], stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    port = int(line.split("http://127.0.0.1:")[1].split(" ")[0])
    token = (library_dir / "api-token").read_text().strip()
    assert oct(os.stat(library_dir / "api-token").st_mode & 0o777) == "0o600"  # the owner's eyes only

    status, answer = call(type("Running", (), {"port": port}), "GET", "/v1/stats", token=token)
    assert status == 200 and answer["images"] == 15
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_file_actions_over_http_delete_history_undo_and_a_refusal(server):
    stats = call(server, "GET", "/v1/stats")[1]
    folder = os.path.dirname(server.jobs.submit("a photo", lambda ctx: ctx.library.store.images()[0]).result().path)
    copy, keeper = os.path.join(folder, "rocket_downscale.jpg"), os.path.join(folder, "rocket.jpg")
    status, merged = call(server, "POST", "/v1/merge", {"keeper": keeper, "paths": [copy]})
    assert status == 200 and merged["moved"] == [copy] and not os.path.exists(copy)
    status, history = call(server, "GET", "/v1/history")
    assert status == 200 and history[0]["id"] == merged["action"] and history[0]["files"] == [copy]
    status, undone = call(server, "POST", "/v1/undo", {})
    assert status == 200 and undone["moved"] == [copy] and os.path.exists(copy)
    status, refused = call(server, "POST", "/v1/delete", {"paths": [copy, "/nowhere/else.jpg"]})
    assert status == 409 and refused["moved"] == [] and refused["refused"][0]["path"] == "/nowhere/else.jpg"
    assert os.path.exists(copy) and call(server, "GET", "/v1/stats")[1] == stats
    assert call(server, "POST", "/v1/delete", {"paths": "not a list"})[0] == 400
    assert call(server, "POST", "/v1/delete", {"paths": [copy]}, token=None)[0] == 401

    aside = os.path.join(os.path.dirname(os.path.dirname(folder)), "aside")  # beside the library's folder
    status, moved = call(server, "POST", "/v1/merge", {"keeper": keeper, "paths": [copy], "to_folder": aside})
    assert status == 200 and moved["moved"] == [copy] and not os.path.exists(copy)
    assert call(server, "GET", "/v1/history")[1][0]["moves"][0]["state"] == "in the folder it was moved to"
    assert call(server, "POST", "/v1/undo", {})[0] == 200 and os.path.exists(copy)
    status, refused = call(server, "POST", "/v1/merge", {"keeper": keeper, "paths": [copy], "hard_link": True})
    assert status == 409 and "identical" in refused["refused"][0]["reason"] and os.path.exists(copy)
    for bad in ({"to_folder": "relative"}, {"hard_link": "yes"}, {"to_folder": aside, "hard_link": True}):
        assert call(server, "POST", "/v1/merge", {"keeper": keeper, "paths": [copy], **bad})[0] == 400


def test_protected_and_left_out_folders_over_http(server):
    folder = os.path.dirname(server.jobs.submit("a photo", lambda ctx: ctx.library.store.images()[0]).result().path)
    assert call(server, "GET", "/v1/folders") == (200, {"protected": [], "excluded": []})
    status, saved = call(server, "POST", "/v1/folders", {"protected": [folder], "excluded": ["*.webp", "Screenshots"]})
    assert status == 200 and saved == {"protected": [folder], "excluded": ["*.webp", "Screenshots"]}
    assert call(server, "POST", "/v1/folders", {"protected": []})[1] == {"protected": [],
                                                                        "excluded": ["*.webp", "Screenshots"]}
    assert call(server, "POST", "/v1/folders", {"excluded": ["*"]})[0] == 400  # it would leave out every photo
    assert call(server, "POST", "/v1/folders", {"protected": ["/no/such/folder"]})[0] == 400
    assert call(server, "POST", "/v1/folders", {"excluded": "*.png"})[0] == 400
    assert call(server, "GET", "/v1/folders")[1]["excluded"] == ["*.webp", "Screenshots"]  # refusals changed nothing
