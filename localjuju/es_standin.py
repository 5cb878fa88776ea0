"""A STAND-IN for Elasticsearch, since the real server cannot be installed here.

A small in-memory HTTP server (standard library only) that answers the part of the
Elasticsearch 8 REST API that the ``elasticsearch`` Python client (8.x) and simple apps
use: ``GET /`` (info, version 8.x, with the ``X-Elastic-Product: Elasticsearch``
header the v8 client checks), ``GET /_cluster/health``, ``HEAD|PUT|DELETE /<index>``,
``PUT|POST /<index>/_doc[/<id>]`` (index), ``GET|DELETE /<index>/_doc/<id>``,
``GET|POST [/<index>]/_search`` and ``_count`` (``match_all``, ``match``, ``term``,
``terms``, ``bool.must/filter``) and ``_refresh`` (a no-op: documents are searchable at
once). No analysis beyond lower-casing and splitting on non-word characters, no scoring,
no persistence: it is for wiring tests, not for search. It listens on the host's loopback
only. Run: ``python3 -m localjuju.es_standin --port 9200 --cluster-name NAME``.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

VERSION = "8.11.4"
Json = dict[str, Any]
SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}


class EsError(Exception):
    """An Elasticsearch-style error response."""

    def __init__(self, status: int, kind: str, reason: str):
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason

    def body(self) -> Json:
        cause = {"type": self.kind, "reason": self.reason}
        return {"error": {"root_cause": [cause], **cause}, "status": self.status}


def tokens(value: Any) -> set[str]:
    """Lower-cased words of a value, as a standard analyzer roughly would."""
    return {t for t in re.split(r"\W+", str(value).lower()) if t}


def field_values(source: Json, path: str) -> list[Any]:
    """The values at a dotted ``path`` of a document (lists flattened)."""
    values: list[Any] = [source]
    for part in path.split("."):
        found: list[Any] = []
        for value in values:
            if isinstance(value, dict) and part in value:
                item = value[part]
                found.extend(item if isinstance(item, list) else [item])
        values = found
    return values


def _single(clause: Json, kind: str) -> tuple[str, Any]:
    if len(clause) != 1:
        raise EsError(400, "parsing_exception", f"[{kind}] query malformed, expected one field")
    field, spec = next(iter(clause.items()))
    if isinstance(spec, dict):
        spec = spec.get("query", spec.get("value"))
    return field, spec


def _term(value: Any, wanted: Any) -> bool:
    return bool(value == wanted or (isinstance(value, str) and str(wanted).lower() in tokens(value)))


def matches(query: Json | None, source: Json) -> bool:
    """Whether ``source`` matches a query of the supported subset; raise EsError if unsupported."""
    if not query or "match_all" in query:
        return True
    if "term" in query:
        field, wanted = _single(query["term"], "term")
        return any(_term(v, wanted) for v in field_values(source, field))
    if "terms" in query:
        field, wanted = next(iter(query["terms"].items()))
        return any(_term(v, w) for v in field_values(source, field) for w in wanted)
    if "match" in query:
        field, text = _single(query["match"], "match")
        found = set().union(*(tokens(v) for v in field_values(source, field)))
        return bool(tokens(text) & found)
    if "bool" in query:
        clauses = [*_as_list(query["bool"].get("must")), *_as_list(query["bool"].get("filter"))]
        return all(matches(clause, source) for clause in clauses)
    raise EsError(400, "parsing_exception", f"unknown query [{next(iter(query))}] (es_standin)")


def _as_list(value: Any) -> list[Json]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class Store:
    """Indices of documents, kept in memory, safe for concurrent requests."""

    def __init__(self) -> None:
        self.indices: dict[str, dict[str, Json]] = {}
        self.lock = threading.Lock()
        self.seq = 0

    def create_index(self, index: str) -> Json:
        with self.lock:
            if index in self.indices:
                raise EsError(400, "resource_already_exists_exception", f"index [{index}] already exists")
            self.indices[index] = {}
        return {"acknowledged": True, "shards_acknowledged": True, "index": index}

    def delete_index(self, index: str) -> Json:
        with self.lock:
            if self.indices.pop(index, None) is None:
                raise _no_index(index)
        return {"acknowledged": True}

    def index(self, index: str, doc_id: str, source: Json) -> tuple[int, Json]:
        with self.lock:
            docs = self.indices.setdefault(index, {})
            version = docs[doc_id]["_version"] + 1 if doc_id in docs else 1
            self.seq += 1
            docs[doc_id] = {"_version": version, "_seq_no": self.seq, "_source": source}
        result = "created" if version == 1 else "updated"
        return (201 if version == 1 else 200), {
            "_index": index,
            "_id": doc_id,
            "_version": version,
            "result": result,
            "_shards": {"total": 1, "successful": 1, "failed": 0},
            "_seq_no": self.seq,
            "_primary_term": 1,
        }

    def get(self, index: str, doc_id: str) -> tuple[int, Json]:
        with self.lock:
            if index not in self.indices:
                raise _no_index(index)
            doc = self.indices[index].get(doc_id)
        if doc is None:
            return 404, {"_index": index, "_id": doc_id, "found": False}
        return 200, {"_index": index, "_id": doc_id, "_primary_term": 1, "found": True, **doc}

    def delete(self, index: str, doc_id: str) -> tuple[int, Json]:
        with self.lock:
            doc = self.indices.get(index, {}).pop(doc_id, None)
        result = "deleted" if doc else "not_found"
        return (200 if doc else 404), {"_index": index, "_id": doc_id, "result": result, "_shards": SHARDS}

    def search(self, index: str, body: Json, params: dict[str, str]) -> Json:
        names = self._names(index)
        query = body.get("query")
        with self.lock:
            hits = [
                {"_index": name, "_id": doc_id, "_score": 1.0, "_source": doc["_source"]}
                for name in names
                for doc_id, doc in self.indices.get(name, {}).items()
                if matches(query, doc["_source"])
            ]
        start = int(body.get("from", params.get("from", 0)))
        size = int(body.get("size", params.get("size", 10)))
        return {
            "took": 1,
            "timed_out": False,
            "_shards": SHARDS,
            "hits": {
                "total": {"value": len(hits), "relation": "eq"},
                "max_score": 1.0 if hits else None,
                "hits": hits[start : start + size],
            },
        }

    def _names(self, index: str) -> list[str]:
        if index in ("", "_all", "*"):
            return sorted(self.indices)
        names = index.split(",")
        for name in names:
            if name not in self.indices:
                raise _no_index(name)
        return names


def _no_index(index: str) -> EsError:
    return EsError(404, "index_not_found_exception", f"no such index [{index}]")


class Handler(BaseHTTPRequestHandler):
    """Routes one request to the store; every response carries the product header."""

    server: StandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the daemon's log stays small
        return

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw.strip() else {}
            status, payload = self.server.route(method, parts, body, params)
        except EsError as error:
            status, payload = error.status, error.body()
        except (ValueError, TypeError) as error:
            status, payload = 400, EsError(400, "parse_exception", str(error)).body()
        self._reply(method, status, payload)

    def _reply(self, method: str, status: int, payload: Json) -> None:
        data = b"" if method == "HEAD" else json.dumps(payload).encode()
        compatible = "compatible-with=8" in (self.headers.get("Accept") or "")
        kind = "application/vnd.elasticsearch+json;compatible-with=8" if compatible else "application/json"
        self.send_response(status)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class StandIn(ThreadingHTTPServer):
    """The stand-in server: ``route`` maps (method, path parts) to store operations."""

    daemon_threads = True

    def __init__(
        self, port: int, cluster_name: str, node_name: str = "es-standin-0", host: str = "127.0.0.1"
    ):
        super().__init__((host, port), Handler)
        self.cluster_name, self.node_name = cluster_name, node_name
        self.cluster_uuid = uuid.uuid4().hex[:22]
        self.store = Store()

    def info(self) -> Json:
        return {
            "name": self.node_name,
            "cluster_name": self.cluster_name,
            "cluster_uuid": self.cluster_uuid,
            "version": {
                "number": VERSION,
                "build_flavor": "default",
                "build_type": "es_standin",
                "lucene_version": "9.8.0",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0",
            },
            "tagline": "You Know, for Search",
        }

    def health(self) -> Json:
        return {
            "cluster_name": self.cluster_name,
            "status": "green",
            "timed_out": False,
            "number_of_nodes": 1,
            "number_of_data_nodes": 1,
            "active_primary_shards": len(self.store.indices),
            "active_shards": len(self.store.indices),
            "unassigned_shards": 0,
        }

    def route(self, method: str, parts: list[str], body: Json, params: dict[str, str]) -> tuple[int, Json]:
        if not parts:
            return 200, self.info()
        if parts[0].startswith("_"):
            return self._cluster_route(method, parts, body, params)
        index, rest = parts[0], parts[1:]
        if not rest:
            return self._index_route(method, index)
        if rest[0] in ("_search", "_count"):
            found = self.store.search(index, body, params)
            if rest[0] == "_count":
                return 200, {"count": found["hits"]["total"]["value"], "_shards": SHARDS}
            return 200, found
        if rest[0] == "_refresh":
            return 200, {"_shards": SHARDS}
        if rest[0] in ("_doc", "_create"):
            return self._doc_route(method, index, rest[1:], body)
        raise EsError(400, "invalid_request", f"{method} /{'/'.join(parts)} is not supported by es_standin")

    def _cluster_route(
        self, method: str, parts: list[str], body: Json, params: dict[str, str]
    ) -> tuple[int, Json]:
        if parts[:2] == ["_cluster", "health"]:
            return 200, self.health()
        if parts[0] == "_search":
            return 200, self.store.search("", body, params)
        if parts[0] == "_refresh":
            return 200, {"_shards": SHARDS}
        raise EsError(400, "invalid_request", f"{method} /{'/'.join(parts)} is not supported by es_standin")

    def _index_route(self, method: str, index: str) -> tuple[int, Json]:
        if method == "HEAD":
            return (200 if index in self.store.indices else 404), {}
        if method == "PUT":
            return 200, self.store.create_index(index)
        if method == "DELETE":
            return 200, self.store.delete_index(index)
        if index not in self.store.indices:
            raise _no_index(index)
        return 200, {index: {"aliases": {}, "mappings": {}, "settings": {}}}

    def _doc_route(self, method: str, index: str, ids: list[str], body: Json) -> tuple[int, Json]:
        if method in ("PUT", "POST"):
            return self.store.index(index, ids[0] if ids else uuid.uuid4().hex[:20], body)
        if not ids:
            raise EsError(400, "invalid_request", "a document id is required")
        if method == "DELETE":
            return self.store.delete(index, ids[0])
        return self.store.get(index, ids[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="es_standin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--cluster-name", default="elasticsearch")
    parser.add_argument("--node-name", default="es-standin-0")
    parser.add_argument("--pidfile", type=Path)
    args = parser.parse_args(argv)
    server = StandIn(args.port, args.cluster_name, args.node_name, args.host)
    if args.pidfile:
        import os

        args.pidfile.write_text(f"{os.getpid()}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
