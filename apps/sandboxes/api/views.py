"""The sandbox routes of 003 (``/api/v1/agent/sandboxes``) and 004 (``/api/sandboxes``, ``/api/project``)."""
from __future__ import annotations

import asyncio
import base64
import os
import zipfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.conversations import selectors as conversation_selectors
from apps.core.api.views import AdminApiView, PlatformApiView, StreamingRouteMixin
from apps.core.errors import Invalid, NotFound, PayloadTooLarge
from apps.core.streaming import sse_comment, sse_frame, sse_response, with_heartbeat
from apps.sandboxes import deploy, selectors, services, slides
from apps.sandboxes.api import serializers as s
from apps.sandboxes.mcp import sandbox_mcp_path
from apps.sandboxes.models import Sandbox, SandboxSession

TEXT_PREVIEW_BYTES = 5 * 1024 * 1024
OBJECT = OpenApiTypes.OBJECT


def _valid(serializer_class, data) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _urls(request: Request, sandbox: Sandbox) -> dict[str, Any]:
    vscode = settings.SANDBOX_VSCODE_URL.format(sandbox_id=sandbox.public_id) if settings.SANDBOX_VSCODE_URL else None
    previews = {
        str(port): request.build_absolute_uri(services.preview_path(sandbox=sandbox, port=port))
        for port in sandbox.exposed_ports
    }
    mcp = request.build_absolute_uri(sandbox_mcp_path(sandbox=sandbox))
    return {"sandbox_id": sandbox.public_id, "mcp_url": mcp, "vscode_url": vscode, "preview_urls": previews}


def _file_payload(path: str, data: bytes, encoding: str | None) -> dict[str, Any]:
    if encoding != "base64":
        try:
            return {"path": path, "content": data.decode("utf-8"), "encoding": "utf-8", "size": len(data)}
        except UnicodeDecodeError:
            if encoding == "utf-8":
                raise Invalid("The file is not UTF-8 text; ask for encoding=base64.", field_errors={"encoding": ["Binary file."]}) from None
    return {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64", "size": len(data)}


def _upload_target(directory: str, name: str) -> str:
    base = os.path.basename(name or "") or "upload"
    if not directory:
        return base
    return directory.rstrip("/") + "/" + base if directory.endswith("/") else directory


def _chunks(upload) -> Iterator[bytes]:
    yield from upload.chunks()


# ------------------------------------------------------------------------------
# 003 — agents backend: /api/v1/agent/sandboxes
# ------------------------------------------------------------------------------
class AdminSandboxView(AdminApiView):
    def sandbox(self, request: Request, sandbox_id: str) -> Sandbox:
        return selectors.sandbox_get(user=request.user, sandbox_id=sandbox_id)


class AdminSandboxCreateApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=s.TemplateInput, summary="Create a sandbox")
    def post(self, request: Request) -> Response:
        body = _valid(s.TemplateInput, request.data)
        sandbox = services.sandbox_create(user=request.user, template_id=body.get("template_id"))
        return Response({**_urls(request, sandbox), **s.sandbox_out(sandbox)}, status=http.HTTP_201_CREATED)


class AdminSandboxConnectApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=s.SandboxIdInput, summary="Connect to an existing sandbox (resumes a paused one)")
    def post(self, request: Request) -> Response:
        body = _valid(s.SandboxIdInput, request.data)
        sandbox = services.sandbox_use(sandbox=self.sandbox(request, body["sandbox_id"]))
        return Response({**_urls(request, sandbox), **s.sandbox_out(sandbox)})


class AdminSandboxRunCommandApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=s.RunCommandInput, summary="Run a command: stdout, stderr, exit code, duration")
    def post(self, request: Request) -> Response:
        body = _valid(s.RunCommandInput, request.data)
        sandbox = self.sandbox(request, body["sandbox_id"])
        result = services.sandbox_exec(sandbox=sandbox, command=body["command"], timeout=body.get("timeout"), cwd=body.get("cwd", ""))
        return Response({"sandbox_id": sandbox.public_id, **s.exec_out(result)})


class AdminSandboxDetailApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, summary="A sandbox's status")
    def get(self, request: Request, sandbox_id: str) -> Response:
        return Response(s.sandbox_out(self.sandbox(request, sandbox_id)))

    @extend_schema(responses=OBJECT, summary="Delete a sandbox, its processes and its files")
    def delete(self, request: Request, sandbox_id: str) -> Response:
        sandbox = self.sandbox(request, sandbox_id)
        services.sandbox_delete(sandbox=sandbox)
        return Response({"sandbox_id": sandbox_id, "deleted": True})


class AdminSandboxInfoApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, summary="A sandbox's details: limits, disk used, sessions")
    def get(self, request: Request, sandbox_id: str) -> Response:
        sandbox = self.sandbox(request, sandbox_id)
        sessions = [s.session_out(session) for session in sandbox.sessions.all()] if sandbox.is_alive else []
        workspace = services.sandbox_spec(sandbox).workspace
        disk_used = services.backend_for(sandbox).workspace(services.sandbox_spec(sandbox)).usage() if workspace.exists() else 0
        return Response({
            **s.sandbox_out(sandbox),
            "mcp_url": request.build_absolute_uri(sandbox_mcp_path(sandbox=sandbox)),
            "backend": sandbox.backend,
            "limits": {
                "disk_bytes": sandbox.disk_bytes, "memory_bytes": sandbox.memory_bytes,
                "cpu_seconds_per_process": sandbox.cpu_seconds, "max_processes": sandbox.max_processes,
                "idle_timeout_seconds": sandbox.idle_timeout_seconds,
            },
            "disk_used_bytes": disk_used,
            "cpu_seconds_last_hour": round(services.cpu_seconds_last_hour(user=request.user), 3),
            "exposed_ports": sandbox.exposed_ports,
            "sessions": sessions,
        })


class AdminSandboxUrlsApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, summary="MCP, VS Code and preview URLs (null where not configured)")
    def get(self, request: Request, sandbox_id: str) -> Response:
        return Response(_urls(request, self.sandbox(request, sandbox_id)))


class AdminSandboxTimeoutApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=s.TimeoutInput, summary="Expire the sandbox this many seconds from now")
    def post(self, request: Request, sandbox_id: str) -> Response:
        body = _valid(s.TimeoutInput, request.data)
        sandbox = services.sandbox_set_timeout(sandbox=self.sandbox(request, sandbox_id), seconds=body["timeout"])
        return Response(s.sandbox_out(sandbox))


class AdminSandboxPauseApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=None, summary="Freeze the sandbox's processes; the next use resumes them")
    def post(self, request: Request, sandbox_id: str) -> Response:
        return Response(s.sandbox_out(services.sandbox_pause(sandbox=self.sandbox(request, sandbox_id))))


class AdminSandboxExposePortApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=s.PortInput, summary="Expose a port of the sandbox as an authenticated preview URL")
    def post(self, request: Request, sandbox_id: str) -> Response:
        body = _valid(s.PortInput, request.data)
        sandbox = services.sandbox_expose_port(sandbox=self.sandbox(request, sandbox_id), port=body["port"])
        url = request.build_absolute_uri(services.preview_path(sandbox=sandbox, port=body["port"]))
        return Response({"sandbox_id": sandbox.public_id, "port": body["port"], "url": url})


class AdminSandboxWriteFileApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=s.WriteFileInput, summary="Write a file (utf-8 or base64 content)")
    def post(self, request: Request) -> Response:
        body = _valid(s.WriteFileInput, request.data)
        sandbox = self.sandbox(request, body["sandbox_id"])
        size = services.file_write(sandbox=sandbox, path=body["path"], data=body["data"])
        return Response({"sandbox_id": sandbox.public_id, "path": body["path"], "size": size})


class AdminSandboxReadFileApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=s.ReadFileInput, summary="Read a file (utf-8 text, or base64 for binary)")
    def post(self, request: Request) -> Response:
        body = _valid(s.ReadFileInput, request.data)
        sandbox = self.sandbox(request, body["sandbox_id"])
        data = services.file_read(sandbox=sandbox, path=body["path"])
        return Response({"sandbox_id": sandbox.public_id, **_file_payload(body["path"], data, body.get("encoding"))})


class AdminSandboxUploadFileApi(AdminSandboxView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=OBJECT, request=s.UploadFileInput, summary="Upload a file (multipart); 413 past SANDBOX_MAX_UPLOAD_BYTES")
    def post(self, request: Request) -> Response:
        body = _valid(s.UploadFileInput, request.data)
        sandbox = self.sandbox(request, body["sandbox_id"])
        upload = body["file"]
        path = _upload_target(body.get("path", ""), upload.name)
        size = services.file_upload(sandbox=sandbox, path=path, chunks=_chunks(upload), size=upload.size)
        return Response({"sandbox_id": sandbox.public_id, "path": path, "size": size}, status=http.HTTP_201_CREATED)


class AdminSandboxUploadFromUrlApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=s.UploadFromUrlInput, summary="Download a URL into the sandbox (SSRF-safe fetcher)")
    def post(self, request: Request) -> Response:
        body = _valid(s.UploadFromUrlInput, request.data)
        sandbox = self.sandbox(request, body["sandbox_id"])
        size = services.file_upload_from_url(sandbox=sandbox, url=body["url"], path=body["path"])
        return Response({"sandbox_id": sandbox.public_id, "path": body["path"], "size": size})


class AdminSandboxDownloadToPresignedApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=s.PresignedInput, summary="PUT a sandbox file to a presigned URL")
    def post(self, request: Request) -> Response:
        body = _valid(s.PresignedInput, request.data)
        sandbox = self.sandbox(request, body["sandbox_id"])
        code = services.file_download_to_presigned(
            sandbox=sandbox, path=body["path"], url=body["presigned_url"], content_type=body.get("content_type", "")
        )
        return Response({"sandbox_id": sandbox.public_id, "path": body["path"], "status_code": code, "uploaded": True})


class AdminSandboxMkdirApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, request=s.PathInput, summary="Create a directory (and its parents)")
    def post(self, request: Request, sandbox_id: str) -> Response:
        body = _valid(s.PathInput, request.data)
        sandbox = self.sandbox(request, sandbox_id)
        services.file_mkdir(sandbox=sandbox, path=body["path"])
        return Response({"sandbox_id": sandbox.public_id, "path": body["path"], "created": True}, status=http.HTTP_201_CREATED)


class AdminSlidesApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, 
        parameters=[OpenApiParameter("export", str, enum=["pptx"])],
        summary="List slides in order; ?export=pptx downloads the deck as PPTX",
    )
    def get(self, request: Request, sandbox_id: str) -> Any:
        sandbox = self.sandbox(request, sandbox_id)
        if request.query_params.get("export") == "pptx":
            response = HttpResponse(
                slides.slides_pptx(sandbox=sandbox),
                content_type="application/vnd.openxmlformats-officedocument.presentationml.presentation",
            )
            response["Content-Disposition"] = f'attachment; filename="{sandbox.public_id}-slides.pptx"'
            return response
        items = slides.slide_list(sandbox=sandbox)
        return Response({"sandbox_id": sandbox.public_id, "slides": items, "total": len(items)})

    @extend_schema(responses=OBJECT, request=s.SlideCreateInput, summary="Create a slide (an HTML document)")
    def post(self, request: Request, sandbox_id: str) -> Response:
        body = _valid(s.SlideCreateInput, request.data)
        slide = slides.slide_create(
            sandbox=self.sandbox(request, sandbox_id), title=body.get("title") or "Untitled",
            content=body["content"], position=body.get("position"),
        )
        return Response(slide, status=http.HTTP_201_CREATED)


class AdminSlideDetailApi(AdminSandboxView):
    @extend_schema(responses=OBJECT, summary="A slide with its HTML")
    def get(self, request: Request, sandbox_id: str, slide_id: str) -> Response:
        return Response(slides.slide_get(sandbox=self.sandbox(request, sandbox_id), slide_id=slide_id))

    @extend_schema(responses=OBJECT, request=s.SlideInput, summary="Update a slide's title, HTML or position")
    def put(self, request: Request, sandbox_id: str, slide_id: str) -> Response:
        body = _valid(s.SlideInput, request.data)
        slide = slides.slide_update(
            sandbox=self.sandbox(request, sandbox_id), slide_id=slide_id, title=body.get("title"),
            content=body.get("content"), position=body.get("position"),
        )
        return Response(slide)

    @extend_schema(responses=OBJECT, summary="Delete a slide")
    def delete(self, request: Request, sandbox_id: str, slide_id: str) -> Response:
        slides.slide_delete(sandbox=self.sandbox(request, sandbox_id), slide_id=slide_id)
        return Response(status=http.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------
# 004 — agent platform: /api/sandboxes, /api/project/{id}/sandbox, deployments
# ------------------------------------------------------------------------------
class PlatformSandboxView(PlatformApiView):
    def sandbox(self, request: Request, sandbox_id: str) -> Sandbox:
        return selectors.sandbox_get(user=request.user, sandbox_id=sandbox_id)


class PlatformEnsureActiveApi(PlatformApiView):
    @extend_schema(responses=OBJECT, request=None, summary="Create or resume the project's sandbox")
    def post(self, request: Request, project_id: str) -> Response:
        project = conversation_selectors.project_get(user=request.user, project_id=project_id)
        sandbox, created = services.project_sandbox_ensure_active(user=request.user, project=project)
        return Response({**s.sandbox_out(sandbox), "created": created}, status=http.HTTP_201_CREATED if created else 200)


class PlatformFilesApi(PlatformSandboxView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=OBJECT, parameters=[s.PathQuery], summary="List a directory (?path=, ?recursive=true)")
    def get(self, request: Request, sandbox_id: str) -> Response:
        query = _valid(s.PathQuery, request.query_params)
        recursive = request.query_params.get("recursive") in ("1", "true")
        entries = services.file_list(sandbox=self.sandbox(request, sandbox_id), path=query["path"], recursive=recursive)
        return Response({"path": query["path"], "files": [s.entry_out(entry) for entry in entries]})

    @extend_schema(request={"multipart/form-data": OBJECT}, responses=OBJECT, summary="Upload files (multipart: file or files, and path, a directory or a file name)")
    def post(self, request: Request, sandbox_id: str) -> Response:
        sandbox = self.sandbox(request, sandbox_id)
        uploads = request.FILES.getlist("files") + request.FILES.getlist("file")
        if not uploads:
            raise Invalid("No file was sent.", field_errors={"file": ["Send one or more files as multipart 'file'/'files'."]})
        directory = str(request.data.get("path", "") or "")
        if len(uploads) > 1 and directory and not directory.endswith("/"):
            directory += "/"
        total = sum(upload.size for upload in uploads)
        if total > settings.SANDBOX_MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"Uploads are limited to {settings.SANDBOX_MAX_UPLOAD_BYTES} bytes.")
        stored = []
        for upload in uploads:
            path = _upload_target(directory, upload.name)
            stored.append({"path": path, "size": services.file_upload(sandbox=sandbox, path=path, chunks=_chunks(upload), size=upload.size)})
        return Response({"sandbox_id": sandbox.public_id, "uploaded": stored}, status=http.HTTP_201_CREATED)

    @extend_schema(request=None, responses=OBJECT, parameters=[s.RequiredPathQuery], summary="Delete a file or directory (?path= or a JSON body)")
    def delete(self, request: Request, sandbox_id: str) -> Response:
        sandbox = self.sandbox(request, sandbox_id)
        data = request.data if isinstance(request.data, dict) and request.data else request.query_params
        paths = data.get("paths") if isinstance(data.get("paths"), list) else None
        if paths is None:
            paths = [_valid(s.RequiredPathQuery, data)["path"]]
        if not paths or not all(isinstance(path, str) and path for path in paths):
            raise Invalid("paths must be a list of paths.", field_errors={"paths": ["A non-empty list of paths."]})
        for path in paths:
            services.file_delete(sandbox=sandbox, path=path)
        return Response({"sandbox_id": sandbox.public_id, "deleted": paths})


class PlatformFileTreeApi(PlatformSandboxView):
    @extend_schema(responses=OBJECT, parameters=[s.PathQuery], summary="The file tree under ?path=")
    def get(self, request: Request, sandbox_id: str) -> Response:
        query = _valid(s.PathQuery, request.query_params)
        tree = services.file_tree(sandbox=self.sandbox(request, sandbox_id), path=query["path"])
        return Response({"path": query["path"], "tree": tree})


class PlatformFileContentApi(PlatformSandboxView):
    @extend_schema(responses=OBJECT, parameters=[s.RequiredPathQuery], summary="A file's content (?path=); binary as base64")
    def get(self, request: Request, sandbox_id: str) -> Response:
        query = _valid(s.RequiredPathQuery, request.query_params)
        data = services.file_read(sandbox=self.sandbox(request, sandbox_id), path=query["path"], max_bytes=TEXT_PREVIEW_BYTES)
        return Response(_file_payload(query["path"], data, request.query_params.get("encoding")))


class _ZipSink:
    """A write-only file for zipfile whose bytes are taken out as they are written (streaming)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _zip_stream(files: Iterator[tuple[str, int]]) -> Iterator[bytes]:
    sink = _ZipSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
        for relative, fd in files:
            with os.fdopen(fd, "rb") as reader, archive.open(relative, "w", force_zip64=True) as writer:
                while chunk := reader.read(1024 * 1024):
                    writer.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


class PlatformDownloadArchiveApi(PlatformSandboxView):
    @extend_schema(responses=OBJECT, parameters=[s.PathQuery], summary="The workspace (or ?path=) as a streamed zip")
    def get(self, request: Request, sandbox_id: str) -> StreamingHttpResponse:
        query = _valid(s.PathQuery, request.query_params)
        sandbox = self.sandbox(request, sandbox_id)
        files = services.file_archive(sandbox=sandbox, path=query["path"])
        # The walk is lazy: take its first file now, so that a bad path is a 4xx and not a broken 200.
        iterator = iter(files)
        try:
            head = next(iterator)
        except StopIteration:
            head = None

        def chained() -> Iterator[tuple[str, int]]:
            if head is not None:
                yield head
                yield from iterator

        response = StreamingHttpResponse(_zip_stream(chained()), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{sandbox.public_id}.zip"'
        return response


class PlatformSandboxDeleteApi(PlatformSandboxView):
    @extend_schema(responses=OBJECT, summary="Delete a sandbox, its processes and its files")
    def delete(self, request: Request, sandbox_id: str) -> Response:
        services.sandbox_delete(sandbox=self.sandbox(request, sandbox_id))
        return Response({"sandbox_id": sandbox_id, "deleted": True})


class PlatformExecuteApi(PlatformSandboxView):
    @extend_schema(responses=OBJECT, request=s.ExecuteInput, summary="Run a command; with session_name or background, as a session")
    def post(self, request: Request, sandbox_id: str) -> Response:
        body = _valid(s.ExecuteInput, request.data)
        sandbox = self.sandbox(request, sandbox_id)
        if body.get("session_name") or body.get("background"):
            session = services.session_start(
                sandbox=sandbox, name=body.get("session_name") or services.DEV_SERVER, command=body["command"], port=body.get("port")
            )
            return Response({"sandbox_id": sandbox.public_id, **s.session_out(session)}, status=http.HTTP_201_CREATED)
        result = services.sandbox_exec(sandbox=sandbox, command=body["command"], timeout=body.get("timeout"), cwd=body.get("cwd", ""))
        return Response({"sandbox_id": sandbox.public_id, **s.exec_out(result)})


class PlatformSessionStatusApi(PlatformSandboxView):
    @extend_schema(responses=OBJECT, summary="A session's status and exit code")
    def get(self, request: Request, sandbox_id: str, session_name: str) -> Response:
        session = selectors.session_get(sandbox=self.sandbox(request, sandbox_id), name=session_name)
        return Response(s.session_out(services.session_refresh(session=session)))


class PlatformPreviewUrlApi(PlatformSandboxView):
    @extend_schema(responses=OBJECT, parameters=[s.PreviewQuery], summary="An authenticated preview URL (starts the preview server if none runs)")
    def get(self, request: Request, sandbox_id: str) -> Response:
        query = _valid(s.PreviewQuery, request.query_params)
        sandbox = self.sandbox(request, sandbox_id)
        port = services.preview_ensure(sandbox=sandbox, port=query.get("port"))
        url = request.build_absolute_uri(services.preview_path(sandbox=sandbox, port=port))
        return Response({"sandbox_id": sandbox.public_id, "port": port, "url": url, "expires_in": services.PREVIEW_TOKEN_SECONDS})


class PlatformExpoUrlApi(PlatformSandboxView):
    @extend_schema(responses=OBJECT, summary="The preview URL of a running Expo dev server; 404 when none runs")
    def get(self, request: Request, sandbox_id: str) -> Response:
        sandbox = self.sandbox(request, sandbox_id)
        session = services.expo_session(sandbox=sandbox)
        port = session.port or 8081
        url = request.build_absolute_uri(services.preview_path(sandbox=sandbox, port=port))
        expo = "exp" + url[4:] if url.startswith("http") else url
        return Response({"sandbox_id": sandbox.public_id, "session_name": session.name, "port": port, "url": url, "expo_url": expo})


async def _session_lines(session: SandboxSession, start: int) -> AsyncIterator[str]:
    """SSE frames of a session's output, one per line, from line ``start``; ends with the session."""
    offset, index, pending = 0, 0, b""
    refresh = sync_to_async(services.session_refresh)
    read = sync_to_async(services.session_log)
    while True:
        data = await read(session=session, offset=offset)
        offset += len(data)
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if index >= start:
                yield sse_frame({"type": "output", "index": index, "line": line.decode("utf-8", "replace")}, event="message", id=index)
            index += 1
        if data:
            continue
        session = await refresh(session=session)
        if session.status != SandboxSession.Status.RUNNING:
            tail = await read(session=session, offset=offset)
            pending += tail
            for line in [part for part in pending.split(b"\n") if part]:
                if index >= start:
                    yield sse_frame({"type": "output", "index": index, "line": line.decode("utf-8", "replace")}, event="message", id=index)
                index += 1
            yield sse_frame({"type": "end", "status": session.status, "exit_code": session.exit_code, "index": index}, event="message")
            return
        await asyncio.sleep(0.25)


class PlatformDevServerStreamApi(StreamingRouteMixin, PlatformSandboxView):
    allow_query_token = True

    @extend_schema(responses=OBJECT, 
        parameters=[s.StreamQuery, OpenApiParameter("token", str), OpenApiParameter("Last-Event-ID", str, location="header")],
        summary="SSE of a session's output (?session=, default dev-server), resumable by line index",
    )
    def get(self, request: Request, sandbox_id: str) -> StreamingHttpResponse:
        query = _valid(s.StreamQuery, request.query_params)
        session = selectors.session_get(sandbox=self.sandbox(request, sandbox_id), name=query["session"])
        start = query.get("index")
        if start is None:
            last = request.headers.get("Last-Event-ID", "").strip()
            start = int(last) + 1 if last.isdigit() else 0
        return sse_response(with_heartbeat(_session_lines(session, start), lambda: sse_comment("ping")))


# -- deployments --------------------------------------------------------------------------------------
class PlatformDeployView(PlatformApiView):
    def project(self, request: Request, project_id: str):
        return conversation_selectors.project_get(user=request.user, project_id=project_id)

    def answer(self, request: Request, deployment, status: int = 200) -> Response:
        url = request.build_absolute_uri(deployment.url) if deployment.url.startswith("/") else deployment.url
        return Response(s.deployment_out(deployment, url, deploy.deployment_last_lines(deployment)), status=status)


class PlatformDeployGitApi(PlatformDeployView):
    @extend_schema(responses=OBJECT, request=s.DeployInput, summary="Commit the project's sandbox and deploy it (local sites by default)")
    def post(self, request: Request, project_id: str) -> Response:
        body = _valid(s.DeployInput, request.data)
        deployment = deploy.project_deploy(
            user=request.user, project=self.project(request, project_id), kind="git", sandbox_id=body.get("sandbox_id") or None
        )
        return self.answer(request, deployment, http.HTTP_201_CREATED)


class PlatformDeployGitUpdateApi(PlatformDeployView):
    @extend_schema(responses=OBJECT, request=None, summary="Commit and redeploy a project deployed before")
    def post(self, request: Request, project_id: str) -> Response:
        return self.answer(request, deploy.deployment_update(user=request.user, project=self.project(request, project_id)))


class PlatformDeploymentStatusApi(PlatformDeployView):
    @extend_schema(responses=OBJECT, summary="The latest deployment: state, URL, last log lines")
    def get(self, request: Request, project_id: str) -> Response:
        deployment = selectors.deployment_latest(user=request.user, project=self.project(request, project_id))
        if deployment is None:
            raise NotFound("This project has not been deployed.")
        return self.answer(request, deployment)


class PlatformDeploymentLiveStatusApi(PlatformDeployView):
    @extend_schema(responses=OBJECT, summary="What /sites/<slug>/ serves now, and whether it is reachable")
    def get(self, request: Request, project_id: str) -> Response:
        project = self.project(request, project_id)
        latest = selectors.deployment_latest(user=request.user, project=project)
        if latest is None:
            raise NotFound("This project has not been deployed.")
        live = selectors.deployment_live(site_slug=latest.site_slug)
        answer = self.answer(request, latest).data
        answer["live"] = bool(live and deploy.deployment_site_root(live).is_dir())
        answer["live_version"] = live.version if live else None
        return Response(answer)
