"""The agent routes of 002 and 003: ownership, grants, drafts, workspaces."""
from __future__ import annotations

import os
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.agents.models import Agent, AgentGrant
from apps.agents.tests.factories import AgentFactory, AgentGrantFactory
from apps.conversations.tests.factories import ThreadFactory
from apps.providers.testing import Reply
from apps.providers.tests.factories import LLMProviderFactory

pytestmark = pytest.mark.django_db

DTO = {
    "name": "Research Agent",
    "systemPrefix": "You are a careful research assistant.",
    "systemContext": {"team": "R&D"},
    "availableWorkflows": {},
    "availableTools": ["calculator"],
    "availableSubAgentIds": [],
    "availableSkills": ["market-research"],
    "availableKnowledgeBases": [],
    "memoryType": "session",
    "maxLoopCount": 7,
    "deepThinking": True,
    "enableMultimodal": False,
    "multiAgent": False,
    "agentMode": "default",
    "description": "Handles market research",
}


def test_it_creates_and_reads_an_agent(alice, alice_client):
    response = alice_client.post("/api/agent/create", DTO, format="json")
    assert response.status_code == 200
    agent_id = response.json()["data"]["agent_id"]
    agent = Agent.objects.get(pk=agent_id)
    assert (agent.owner, agent.max_loop_count, agent.system_context) == (alice, 7, {"team": "R&D"})
    data = alice_client.get(f"/api/agent/{agent_id}").json()["data"]
    assert {key: data[key] for key in DTO} == DTO
    assert data["id"] == agent_id and data["user_id"] == str(alice.pk) and data["llm_provider_id"] is None


def test_it_binds_an_own_provider_and_refuses_a_foreign_one(alice, bob, alice_client):
    own = LLMProviderFactory(owner=alice)
    response = alice_client.post("/api/agent/create", {**DTO, "llm_provider_id": str(own.pk)}, format="json")
    assert Agent.objects.get(pk=response.json()["data"]["agent_id"]).llm_provider == own
    foreign = LLMProviderFactory(owner=bob)
    response = alice_client.post("/api/agent/create", {**DTO, "llm_provider_id": str(foreign.pk)}, format="json")
    assert response.status_code == 400
    assert "llm_provider_id" in response.json()["data"]["errors"]


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x", "maxLoopCount": 0},
                                  {"name": "x", "maxLoopCount": 500}, {"name": "x", "availableTools": "calc"},
                                  {"name": "x", "memoryType": "forever"}])
def test_it_rejects_an_invalid_agent(alice_client, body):
    response = alice_client.post("/api/agent/create", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == 400
    assert not Agent.objects.exists()


def test_it_lists_own_and_granted_agents_only(alice, bob, charlie, client_for):
    own = AgentFactory(owner=bob)
    granted = AgentFactory(owner=alice)
    AgentGrantFactory(agent=granted, user=bob)
    AgentFactory(owner=charlie)
    data = client_for(bob).get("/api/agent/list").json()["data"]
    assert {item["id"] for item in data} == {str(own.pk), str(granted.pk)}
    assert {item["id"]: item["is_owner"] for item in data} == {str(own.pk): True, str(granted.pk): False}


def test_it_updates_an_agent(alice, alice_client):
    agent = AgentFactory(owner=alice)
    response = alice_client.put(f"/api/agent/{agent.pk}", {"name": "Renamed", "maxLoopCount": 3}, format="json")
    assert response.status_code == 200 and response.json()["data"] == {"agent_id": str(agent.pk)}
    agent.refresh_from_db()
    assert (agent.name, agent.max_loop_count) == ("Renamed", 3)


def test_it_rejects_an_invalid_update(alice, alice_client):
    agent = AgentFactory(owner=alice)
    assert alice_client.put(f"/api/agent/{agent.pk}", {"maxLoopCount": -1}, format="json").status_code == 400


def test_it_deletes_an_agent(alice, alice_client):
    agent = AgentFactory(owner=alice)
    response = alice_client.delete(f"/api/agent/{agent.pk}")
    assert response.json()["data"] == {"agent_id": str(agent.pk)}
    assert not Agent.objects.filter(pk=agent.pk).exists()


def test_another_users_agent_is_not_found(alice, bob_client):
    agent = AgentFactory(owner=alice)
    for method in ("get", "put", "delete"):
        response = getattr(bob_client, method)(f"/api/agent/{agent.pk}", {"name": "x"}, format="json")
        assert response.status_code == 404 and response.json()["code"] == 404
    assert bob_client.get(f"/api/agent/{agent.pk}/auth").status_code == 404
    assert Agent.objects.get(pk=agent.pk).name == agent.name


def test_a_grantee_can_read_but_not_change_an_agent(alice, bob, bob_client):
    agent = AgentFactory(owner=alice)
    AgentGrantFactory(agent=agent, user=bob)
    assert bob_client.get(f"/api/agent/{agent.pk}").status_code == 200
    assert bob_client.put(f"/api/agent/{agent.pk}", {"name": "mine"}, format="json").status_code == 404
    assert bob_client.delete(f"/api/agent/{agent.pk}").status_code == 404


def test_an_unknown_agent_id_is_not_found(alice_client):
    assert alice_client.get(f"/api/agent/{uuid.uuid4()}").status_code == 404
    response = alice_client.get("/api/agent/not-a-uuid")
    assert response.status_code == 404 and response.json()["code"] == 404


def test_the_owner_shares_an_agent(alice, bob, charlie, alice_client):
    agent = AgentFactory(owner=alice)
    response = alice_client.post(f"/api/agent/{agent.pk}/auth", {"user_ids": [str(bob.pk), str(charlie.pk)]},
                                 format="json")
    assert response.status_code == 200
    assert set(response.json()["data"]["user_ids"]) == {str(bob.pk), str(charlie.pk)}
    alice_client.post(f"/api/agent/{agent.pk}/auth", {"user_ids": [str(charlie.pk)]}, format="json")
    data = alice_client.get(f"/api/agent/{agent.pk}/auth").json()["data"]
    assert data["user_ids"] == [str(charlie.pk)]
    assert data["users"][0]["username"] == "charlie"
    assert list(AgentGrant.objects.values_list("user_id", flat=True)) == [charlie.pk]


def test_it_rejects_unknown_users_in_a_grant(alice, alice_client):
    agent = AgentFactory(owner=alice)
    response = alice_client.post(f"/api/agent/{agent.pk}/auth", {"user_ids": ["nobody"]}, format="json")
    assert response.status_code == 400
    assert alice_client.post(f"/api/agent/{agent.pk}/auth", {"user_ids": "x"}, format="json").status_code == 400


def test_a_grantee_cannot_change_grants(alice, bob, charlie, bob_client):
    agent = AgentFactory(owner=alice)
    AgentGrantFactory(agent=agent, user=bob)
    response = bob_client.post(f"/api/agent/{agent.pk}/auth", {"user_ids": [str(charlie.pk)]}, format="json")
    assert response.status_code == 404
    assert not AgentGrant.objects.filter(user=charlie).exists()


@pytest.mark.parametrize(("language", "expected"), [("en", "You are CodexEngine"), ("zh", "你是"), ("xx", "You are")])
def test_it_returns_the_default_system_prompt(alice_client, language, expected):
    response = alice_client.get("/api/agent/template/default_system_prompt", {"language": language})
    assert response.json()["data"]["content"].startswith(expected)


def test_it_drafts_an_agent_offline(alice_client):
    response = alice_client.post("/api/agent/auto-generate",
                                 {"agent_description": "Helps plan a travel budget and schedule",
                                  "available_tools": ["calculator", "current_time", "unknown_tool"]}, format="json")
    assert response.status_code == 200
    draft = response.json()["data"]
    assert draft["generated_by"] == "offline"
    assert draft["availableTools"] == ["calculator", "current_time"]
    assert draft["name"] == "Plan Travel Budget Agent"
    assert "travel budget" in draft["systemPrefix"]


def test_it_drafts_an_agent_with_the_model(alice, alice_client, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text='```json\n{"name": "Trip Planner", "systemPrefix": "You plan trips.", '
                               '"availableTools": ["calculator", "rm_rf"]}\n```'))
    response = alice_client.post("/api/agent/auto-generate", {"agent_description": "Plans trips",
                                                              "available_tools": ["calculator"]}, format="json")
    draft = response.json()["data"]
    assert (draft["name"], draft["systemPrefix"], draft["availableTools"], draft["generated_by"]) == (
        "Trip Planner", "You plan trips.", ["calculator"], "model")
    assert "Plans trips" in fake_llm.chat_requests[-1]["messages"][0]["content"]


def test_it_rejects_an_empty_description(alice_client):
    response = alice_client.post("/api/agent/auto-generate", {"agent_description": ""}, format="json")
    assert response.status_code == 400


def test_it_optimizes_a_prompt_offline(alice_client):
    response = alice_client.post("/api/agent/system-prompt/optimize",
                                 {"original_prompt": "You help users. Answer in French.", "optimization_goal": "clarity"},
                                 format="json")
    data = response.json()["data"]
    assert data["generated_by"] == "offline"
    assert "- Answer in French." in data["optimized_prompt"] and "Goal: clarity" in data["optimized_prompt"]


def test_it_optimizes_a_prompt_with_the_model(alice, alice_client, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text="You are a precise assistant."))
    response = alice_client.post("/api/agent/system-prompt/optimize", {"original_prompt": "help"}, format="json")
    assert response.json()["data"]["optimized_prompt"] == "You are a precise assistant."


def test_optimize_reports_a_failing_provider(alice, alice_client, fake_llm, settings):
    settings.LLM_MAX_RETRIES = 0
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(status=401))
    response = alice_client.post("/api/agent/system-prompt/optimize", {"original_prompt": "help"}, format="json")
    assert response.status_code == 400 and "API key" in response.json()["message"]


def test_optimize_rejects_a_missing_prompt(alice_client):
    assert alice_client.post("/api/agent/system-prompt/optimize", {}, format="json").status_code == 400


# ------------------------------------------------------------------------------
# Workspaces
# ------------------------------------------------------------------------------
@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # Changing STORAGES makes Django rebuild default_storage, here and again on restore.
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


@pytest.fixture
def agent_with_files(alice, media):
    agent = AgentFactory(owner=alice)
    for session in ("s1", "s2"):
        ThreadFactory(id=session, owner=alice, agent=agent)
    default_storage.save(f"workspaces/{agent.pk}/s1/report.md", ContentFile(b"# Report"))
    default_storage.save(f"workspaces/{agent.pk}/s1/data/table.csv", ContentFile(b"a,b\n1,2\n"))
    default_storage.save(f"workspaces/{agent.pk}/s2/other.txt", ContentFile(b"other session"))
    return agent


def test_it_lists_a_session_workspace(agent_with_files, alice_client):
    response = alice_client.post(f"/api/agent/{agent_with_files.pk}/file_workspace?session_id=s1")
    assert response.status_code == 200
    files = response.json()["data"]["files"]
    assert [(f["path"], f["size"]) for f in files] == [("report.md", 8), ("data/table.csv", 8)]


def test_it_downloads_a_workspace_file(agent_with_files, alice_client):
    response = alice_client.get(f"/api/agent/{agent_with_files.pk}/file_workspace/download",
                                {"session_id": "s1", "file_path": "data/table.csv"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"a,b\n1,2\n"
    assert "attachment" in response["Content-Disposition"]


def test_it_deletes_a_workspace_file(agent_with_files, alice_client):
    url = f"/api/agent/{agent_with_files.pk}/file_workspace/delete?session_id=s1&file_path=report.md"
    response = alice_client.delete(url)
    assert response.json()["data"] == {"file_path": "report.md", "deleted": True}
    assert not default_storage.exists(f"workspaces/{agent_with_files.pk}/s1/report.md")
    assert alice_client.delete(url).status_code == 404


@pytest.mark.parametrize("file_path", ["../s2/other.txt", "/etc/passwd", "data/../../s2/other.txt", "..",
                                       "C:/Windows/win.ini", "a\\..\\b"])
def test_it_refuses_paths_outside_the_workspace(agent_with_files, alice_client, file_path):
    base = f"/api/agent/{agent_with_files.pk}/file_workspace"
    download = alice_client.get(f"{base}/download", {"session_id": "s1", "file_path": file_path})
    delete = alice_client.delete(f"{base}/delete?session_id=s1&file_path={file_path}")
    assert download.status_code == 400 and delete.status_code == 400
    assert default_storage.exists(f"workspaces/{agent_with_files.pk}/s2/other.txt")


def test_it_refuses_a_session_id_that_escapes(agent_with_files, alice_client):
    response = alice_client.post(f"/api/agent/{agent_with_files.pk}/file_workspace?session_id=..")
    assert response.status_code == 400


def test_it_refuses_a_symlink_out_of_the_workspace(agent_with_files, alice_client, media, tmp_path_factory):
    secret = tmp_path_factory.mktemp("outside") / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, media / "workspaces" / str(agent_with_files.pk) / "s1" / "link.txt")
    response = alice_client.get(f"/api/agent/{agent_with_files.pk}/file_workspace/download",
                                {"session_id": "s1", "file_path": "link.txt"})
    assert response.status_code == 400
    listed = alice_client.post(f"/api/agent/{agent_with_files.pk}/file_workspace?session_id=s1").json()["data"]
    assert "link.txt" not in [f["path"] for f in listed["files"]]


def test_another_users_workspace_is_not_found(agent_with_files, bob_client):
    base = f"/api/agent/{agent_with_files.pk}/file_workspace"
    assert bob_client.post(f"{base}?session_id=s1").status_code == 404
    assert bob_client.get(f"{base}/download", {"session_id": "s1", "file_path": "report.md"}).status_code == 404
    assert bob_client.delete(f"{base}/delete?session_id=s1&file_path=report.md").status_code == 404
    assert default_storage.exists(f"workspaces/{agent_with_files.pk}/s1/report.md")


def test_workspace_download_requires_a_file_path(agent_with_files, alice_client):
    response = alice_client.get(f"/api/agent/{agent_with_files.pk}/file_workspace/download")
    assert response.status_code == 400 and response.json()["code"] == 400


# ------------------------------------------------------------------------------
# Anonymous access and 003's configuration
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/agent/list"), ("get", "/api/agent/template/default_system_prompt"), ("post", "/api/agent/create"),
     ("get", f"/api/agent/{uuid.uuid4()}"), ("put", f"/api/agent/{uuid.uuid4()}"),
     ("delete", f"/api/agent/{uuid.uuid4()}"), ("post", "/api/agent/auto-generate"),
     ("post", "/api/agent/system-prompt/optimize"), ("get", f"/api/agent/{uuid.uuid4()}/auth"),
     ("post", f"/api/agent/{uuid.uuid4()}/auth"), ("post", f"/api/agent/{uuid.uuid4()}/file_workspace"),
     ("get", f"/api/agent/{uuid.uuid4()}/file_workspace/download"),
     ("delete", f"/api/agent/{uuid.uuid4()}/file_workspace/delete")],
)
def test_it_requires_sign_in(anon, method, path):
    response = getattr(anon, method)(path, {}, format="json")
    assert response.status_code == 401 and response.json()["code"] == 401


def test_agent_config_describes_models_tools_and_the_default_agent(alice, alice_client):
    response = alice_client.get("/api/v1/agent/config")
    assert response.status_code == 200
    data = response.json()
    assert data["offline"] is True
    assert data["default_agent"]["model"] == "codex-offline"
    assert {"calculator", "current_time", "http_fetch"} <= {tool["name"] for tool in data["tools"]}
    LLMProviderFactory(owner=alice, model="gpt-4o", is_default=True)
    data = alice_client.get("/api/v1/agent/config").json()
    assert (data["offline"], data["default_agent"]["model"]) == (False, "gpt-4o")


def test_agent_config_requires_sign_in(anon):
    response = anon.get("/api/v1/agent/config")
    assert response.status_code == 401 and set(response.json()) == {"detail", "code"}


def test_the_default_prompt_rejects_an_oversized_language(alice_client):
    response = alice_client.get("/api/agent/template/default_system_prompt", {"language": "x" * 50})
    assert response.status_code == 400 and response.json()["code"] == 400
