"""002's skill routes: upload and import (with the archive checks), scopes, reading, versioned edits, delete."""
from __future__ import annotations

import http.server
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.agents.tests.factories import AgentFactory
from apps.tools.models import Skill
from apps.tools.tests.skillzip import SKILL_MD, skill_zip

pytestmark = pytest.mark.django_db


def upload(client, data: bytes, **fields):
    return client.post("/api/skills/upload", {"file": SimpleUploadedFile("skill.zip", data), **fields},
                       format="multipart")


def test_it_uploads_a_skill_zip(alice, alice_client):
    response = upload(alice_client, skill_zip())
    assert response.status_code == 200
    assert response.json()["data"] == {"user_id": str(alice.pk), "name": "csv-cleanup", "version": 1}
    skill = Skill.objects.get(owner=alice)
    assert skill.scope == "user" and skill.description.startswith("Clean a CSV file")
    assert [file.path for file in skill.files.all()] == ["checklist.md"]


def test_a_skill_in_one_top_level_folder_is_accepted(alice_client):
    data = skill_zip({"csv-cleanup/SKILL.md": SKILL_MD, "csv-cleanup/ref/notes.txt": "n"})
    assert upload(alice_client, data).status_code == 200
    assert [file.path for file in Skill.objects.get().files.all()] == ["ref/notes.txt"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (skill_zip({"SKILL.md": SKILL_MD, "../evil.sh": "x"}), "outside the skill folder"),
        (skill_zip({"SKILL.md": SKILL_MD, "a/../../evil.sh": "x"}), "outside the skill folder"),
        (skill_zip({"SKILL.md": SKILL_MD, "/etc/cron.d/x": "x"}), "absolute"),
        (skill_zip(symlink="link"), "symbolic link"),
        (skill_zip({"SKILL.md": SKILL_MD, **{f"f{i}.txt": "x" for i in range(101)}}), "at most 100 files"),
        (skill_zip({"SKILL.md": SKILL_MD, "big.bin": b"\0" * (20 * 1024 * 1024 + 1)}), "20 MB unpacked"),
        (skill_zip({"README.md": "no skill here"}), "no SKILL.md"),
        (skill_zip({"SKILL.md": "# no front matter"}), "front matter"),
        (skill_zip({"SKILL.md": "---\nname: Bad Name\ndescription: x\n---\n"}), "lower-case"),
        (skill_zip({"SKILL.md": "---\nname: ok\n---\n"}), "description"),
        (skill_zip({"SKILL.md": "---\nname: [unclosed\n---\n"}), "not valid YAML"),
        (b"not a zip", "not a ZIP"),
    ],
)
def test_it_refuses_a_bad_archive_with_a_clear_400(alice_client, data, message):
    response = upload(alice_client, data)
    assert response.status_code == 400 and response.json()["code"] == 400
    assert message in response.json()["message"]
    assert not Skill.objects.exists()


def test_it_requires_a_file(alice_client):
    response = alice_client.post("/api/skills/upload", {}, format="multipart")
    assert response.status_code == 400


def test_system_skills_are_for_staff_only(alice_client, admin_client):
    assert upload(alice_client, skill_zip(), is_system="true").status_code == 403
    assert upload(admin_client, skill_zip(), is_system="true").status_code == 200
    assert Skill.objects.get().scope == "system"


def test_an_agent_skill_needs_an_agent_of_the_user(alice, bob, alice_client):
    mine, theirs = AgentFactory(owner=alice), AgentFactory(owner=bob)
    assert upload(alice_client, skill_zip(), is_agent="true", agent_id=str(theirs.pk)).status_code == 404
    assert upload(alice_client, skill_zip(), is_agent="true", agent_id=str(mine.pk)).status_code == 200
    assert Skill.objects.get().agent_id == mine.pk


def test_it_lists_skills_by_agent_and_dimension(alice, bob, alice_client, client_for, admin_client):
    agent, other = AgentFactory(owner=alice), AgentFactory(owner=alice)
    upload(admin_client, skill_zip({"SKILL.md": SKILL_MD.replace("csv-cleanup", "system-one")}), is_system="true")
    upload(alice_client, skill_zip())
    upload(alice_client, skill_zip({"SKILL.md": SKILL_MD.replace("csv-cleanup", "agent-one")}), agent_id=str(agent.pk))
    upload(alice_client, skill_zip({"SKILL.md": SKILL_MD.replace("csv-cleanup", "other-one")}), agent_id=str(other.pk))

    def names(client, **query):
        response = client.get("/api/skills", query)
        assert response.status_code == 200
        return sorted(skill["name"] for skill in response.json()["data"]["skills"])

    assert names(alice_client) == ["agent-one", "csv-cleanup", "other-one", "system-one"]
    assert names(alice_client, agent_id=str(agent.pk)) == ["agent-one", "csv-cleanup", "system-one"]
    assert names(alice_client, dimension="system") == ["system-one"]
    assert names(client_for(bob)) == ["system-one"]
    available = alice_client.get("/api/skills/agent-available", {"agent_id": str(agent.pk)}).json()["data"]["skills"]
    assert sorted(skill["name"] for skill in available) == ["agent-one", "csv-cleanup", "system-one"]
    assert client_for(bob).get("/api/skills/agent-available", {"agent_id": str(agent.pk)}).status_code == 404
    assert alice_client.get("/api/skills", {"dimension": "galaxy"}).status_code == 400
    assert alice_client.get("/api/skills/agent-available").status_code == 400


def test_it_reads_and_edits_skill_md_with_versions(alice_client):
    upload(alice_client, skill_zip())
    response = alice_client.get("/api/skills/content", {"name": "csv-cleanup"})
    assert response.status_code == 200 and response.json()["data"]["content"] == SKILL_MD
    edited = SKILL_MD.replace("Clean a CSV file", "Tidy a CSV file")
    assert alice_client.put("/api/skills/content", {"name": "csv-cleanup", "content": edited},
                            format="json").status_code == 200
    skill = Skill.objects.get()
    assert skill.version == 2 and skill.description.startswith("Tidy")
    assert skill.versions.get().content == SKILL_MD


@pytest.mark.parametrize("content", ["no front matter", "---\nname: renamed\ndescription: x\n---\n"])
def test_an_invalid_edit_is_refused(alice_client, content):
    upload(alice_client, skill_zip())
    response = alice_client.put("/api/skills/content", {"name": "csv-cleanup", "content": content}, format="json")
    assert response.status_code == 400 and Skill.objects.get().version == 1


def test_another_users_skill_is_not_found(alice_client, bob, client_for):
    upload(alice_client, skill_zip())
    bob_client = client_for(bob)
    assert bob_client.get("/api/skills/content", {"name": "csv-cleanup"}).status_code == 404
    assert bob_client.put("/api/skills/content", {"name": "csv-cleanup", "content": SKILL_MD},
                          format="json").status_code == 404
    assert bob_client.delete("/api/skills?name=csv-cleanup").status_code == 404
    assert Skill.objects.exists()


def test_it_deletes_a_skill_but_not_a_system_one_unless_staff(alice_client, admin_client):
    upload(alice_client, skill_zip())
    assert alice_client.delete("/api/skills?name=csv-cleanup").status_code == 200
    assert not Skill.objects.exists()
    upload(admin_client, skill_zip(), is_system="true")
    assert alice_client.delete("/api/skills?name=csv-cleanup").status_code == 403
    assert admin_client.delete("/api/skills?name=csv-cleanup").status_code == 200
    assert alice_client.delete("/api/skills").status_code == 400


def test_uploading_again_replaces_the_skill_as_a_new_version(alice_client):
    upload(alice_client, skill_zip())
    upload(alice_client, skill_zip({"SKILL.md": SKILL_MD, "other.md": "o"}))
    skill = Skill.objects.get()
    assert skill.version == 2 and [file.path for file in skill.files.all()] == ["other.md"]


class _ZipHandler(http.server.BaseHTTPRequestHandler):
    body = skill_zip()

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def zip_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ZipHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/skill.zip"
    server.shutdown()
    server.server_close()


def test_import_url_refuses_a_private_address(alice_client, zip_url, settings):
    settings.FETCH_ALLOW_LOOPBACK = False
    response = alice_client.post("/api/skills/import-url", {"url": zip_url}, format="json")
    assert response.status_code == 400 and "non-public" in response.json()["message"]
    response = alice_client.post("/api/skills/import-url", {"url": "http://10.0.0.7/skill.zip"}, format="json")
    assert response.status_code == 400
    assert not Skill.objects.exists()


def test_import_url_fetches_through_the_safe_fetcher(alice, alice_client, zip_url, settings):
    settings.FETCH_ALLOW_LOOPBACK = True  # the only server the tests have is on 127.0.0.1
    response = alice_client.post("/api/skills/import-url", {"url": zip_url, "is_system": False}, format="json")
    assert response.status_code == 200 and response.json()["data"]["user_id"] == str(alice.pk)
    assert Skill.objects.get().name == "csv-cleanup"
    assert alice_client.post("/api/skills/import-url", {"url": "not a url"}, format="json").status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/skills"), ("get", "/api/skills/agent-available?agent_id=x"), ("post", "/api/skills/upload"),
     ("post", "/api/skills/import-url"), ("delete", "/api/skills?name=x"), ("get", "/api/skills/content?name=x"),
     ("put", "/api/skills/content")],
)
def test_every_skill_route_requires_sign_in(anon, method, path):
    response = getattr(anon, method)(path)
    assert response.status_code == 401


def test_the_shipped_system_skills_install_once_and_load(alice_client):
    from apps.tools.skills import system_skills_install

    assert dict(system_skills_install()) == {"code-review": "installed", "data-migration": "installed",
                                             "meeting-notes": "installed"}
    assert set(dict(system_skills_install()).values()) == {"unchanged"}
    skill = Skill.objects.get(name="data-migration")
    assert skill.scope == "system" and skill.owner is None
    assert {file.path for file in skill.files.all()} == {"mapping-template.md", "verification-checklist.md"}
    names = {item["name"] for item in alice_client.get("/api/skills").json()["data"]["skills"]}
    assert {"code-review", "data-migration", "meeting-notes"} <= names
