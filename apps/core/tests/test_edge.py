import pytest


@pytest.mark.django_db
def test_it_serves_the_banner(anon):
    response = anon.get("/")
    assert response.status_code == 200
    assert response.json()["app"] == "CodexEngine V4"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("/api/v1/nope", {"detail", "code"}),
        ("/api/knowledge-base/nope", {"code", "message", "data", "timestamp"}),
        ("/api/tasks/nope/x/y", {"path", "message", "statusCode", "timestamp"}),
        ("/api/projects/x/y/z", {"detail"}),
        ("/nope", {"detail"}),
    ],
)
def test_unknown_paths_answer_404_in_their_apis_shape(anon, path, keys):
    response = anon.get(path)
    assert response.status_code == 404
    assert set(response.json()) == keys
