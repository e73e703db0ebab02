"""Kubernetes manifests and rendered Helm output (``helm template``): multi-document YAML, read one
document at a time through the KB's safe YAML loader (no aliases, bounded depth), so a large
bundle streams in bounded memory.

What it reads (kubernetes.io/docs): container ``image`` references of every workload
(``containers``, ``initContainers``, ``ephemeralContainers`` at any depth: Pod, Deployment,
CronJob...), the registry being the part before the first ``/`` when it has a ``.`` or ``:`` or
is ``localhost`` (else Docker Hub, ``docker.io``); StorageClass ``provisioner``; and annotations
of Services of type LoadBalancer, whose keys name the cloud load balancer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from souverain.errors import DataError, YAMLFileError
from souverain.inventory.items import Item, check_file, clip, mapping
from souverain.kb import yamlio

MAX_DOCUMENT = 8 * 1024 * 1024  # bytes in one YAML document of the bundle
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_SEPARATOR = re.compile(r"^(---|\.\.\.)(\s|$)")
DOCKER_HUB = "docker.io"


def read(path: Path) -> Iterator[Item]:
    check_file(path, 1 << 40)  # streamed: only one document at a time is bounded
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    with handle:
        for start, text in _documents(handle, path):
            try:
                document = yamlio.parse(text, path)
            except YAMLFileError as exc:  # its line is the document's: make it the file's
                raise DataError(f"{path}:{start + exc.line - 1}: {exc.problem}") from exc
            if document.data is None:
                continue
            yield from _document(path, document, start)


def _documents(handle: Any, path: Path) -> Iterator[tuple[int, str]]:
    """(first line, text) of each YAML document, split on ``---`` / ``...`` lines."""
    lines: list[str] = []
    size = 0
    start = 1
    line_no = 0
    try:
        for line_no, line in enumerate(handle, start=1):
            if _SEPARATOR.match(line):
                if lines:
                    yield start, "".join(lines)
                lines, size, start = [], 0, line_no + 1
                continue
            if not lines:
                start = line_no
            size += len(line)
            if size > MAX_DOCUMENT:
                raise DataError(f"{path}:{start}: YAML document larger than {MAX_DOCUMENT:,} characters")
            lines.append(line)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}:{line_no + 1}: not UTF-8 text ({exc.reason})") from exc
    if lines:
        yield start, "".join(lines)


def _document(path: Path, document: yamlio.Document, start: int) -> Iterator[Item]:
    data = document.data
    if not isinstance(data, dict) or "kind" not in data or "apiVersion" not in data:
        raise DataError(f"{path}:{start}: not a Kubernetes object (no apiVersion and kind)")
    kind = clip(data.get("kind"))
    if kind == "List" and isinstance(data.get("items"), list):  # kubectl get -o yaml
        for index, item in enumerate(data["items"]):
            if isinstance(item, dict):
                yield from _object(path, item, document, start, ("items", index))
        return
    yield from _object(path, data, document, start, ())


def _object(path: Path, data: dict, document: yamlio.Document, start: int, where: tuple) -> Iterator[Item]:
    kind = clip(data.get("kind"))
    metadata = mapping(data.get("metadata"))
    name = f"{kind}/{clip(metadata.get('name')) or '?'}"

    def location(*field: str | int) -> str:
        return f"{path}:{start + document.lines.get((*where, *field), 1) - 1}"

    for field, image in _images(data, ()):
        registry = image_registry(image)
        yield Item("kubernetes", "software.registry", "image", f"{image} ({name})", location(*field),
                   registry=registry, hosts=(registry,))
    if kind == "StorageClass" and isinstance(data.get("provisioner"), str):
        provisioner = clip(data["provisioner"])
        yield Item("kubernetes", "cloud.compute", "storage", f"{provisioner} ({name})", location("provisioner"),
                   kubernetes=(provisioner,))
    spec = mapping(data.get("spec"))
    if kind == "Service" and spec.get("type") == "LoadBalancer":
        annotations = mapping(metadata.get("annotations"))
        keys = [clip(key) for key in annotations]
        yield Item("kubernetes", "cloud.compute", "load-balancer", name,
                   location("metadata", "annotations") if keys else location("spec", "type"),
                   kubernetes=tuple(keys))


def _images(node: Any, field: tuple) -> Iterator[tuple[tuple, str]]:
    """(field path, image) of every container of the object, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CONTAINER_LISTS and isinstance(value, list):
                for index, container in enumerate(value):
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        yield (*field, key, index, "image"), clip(container["image"])
            elif isinstance(value, dict | list):
                yield from _images(value, (*field, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _images(value, (*field, index))


def image_registry(image: str) -> str:
    """The registry host of an image reference (Docker's rule: the first path component when it
    looks like a host, else Docker Hub)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first.split(":", 1)[0].lower()
    return DOCKER_HUB
