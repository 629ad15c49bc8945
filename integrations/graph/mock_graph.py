#!/usr/bin/env python3
"""A local stand-in for the Microsoft Graph endpoints export_server_versions.py
uses, for tests: 127.0.0.1 only, standard library only.

It serves a mailbox described by a JSON spec:

    {"mailbox": "user@example.com", "token": "secret-token",
     "folder_page_size": 2, "message_page_size": 3,
     "throttle": {"status": 429, "retry_after": "1", "pages": 2},
     "client": {"tenant": "t", "client_id": "c", "client_secret": "s"},
     "folders": [{"id": "F1", "displayName": "Inbox", "messages": [{...}],
                  "children": [...]}]}

Messages are Graph message objects (id, subject, lastModifiedDateTime,
changeKey, singleValueExtendedProperties); the server adds parentFolderId
and @odata.etag. Paging: @odata.nextLink with a $skiptoken, the page size
the smaller of the spec's and the request's $top. Throttling: the first
request for each of the first `pages` pages of messages asked for is
answered with the status and Retry-After header of the spec (every
request, with "always": true). A request without the
bearer token gets 401; a message request whose $select or $expand is not
the one docs/reconcile.md gives gets 400. Every request is logged with its
time (time.monotonic) and status.

Command line, for the end-to-end test:

    mock_graph.py serve-export SPEC OUT [extra export arguments...]

serves SPEC, runs export_server_versions.py against it writing OUT, and
prints one JSON object: the exporter's exit status, the requests, how many
were throttled, and the shortest delay between a throttled request and
its retry.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SELECT = "id,subject,lastModifiedDateTime,changeKey,parentFolderId"
EXPAND = ("singleValueExtendedProperties($filter=id eq 'Binary 0x65e0'"
          " or id eq 'Binary 0x65e2' or id eq 'Binary 0x65e3')")


def graph_error(code, message):
    return {"error": {"code": code, "message": message}}


class MockGraph:
    """The server and what it saw."""

    def __init__(self, spec):
        self.spec = spec
        self.log = []  # (monotonic time, method, path with query, status)
        self.seen_pages = set()
        self.lock = threading.Lock()
        self.folders = {}
        self.children = {None: []}

        def index(folders, parent):
            for folder in folders:
                self.folders[folder["id"]] = folder
                self.children.setdefault(parent, []).append(folder)
                self.children.setdefault(folder["id"], [])
                index(folder.get("children", []), folder["id"])

        index(spec.get("folders", []), None)
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                status, body, headers = mock.get(self.path, self.headers)
                self.reply(status, body, headers)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                status, body, headers = mock.token(self.path, form)
                self.reply(status, body, headers)

            def reply(self, status, body, headers):
                data = json.dumps(body).encode()
                with mock.lock:
                    mock.log.append((time.monotonic(), self.command, self.path, status))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def token(self, path, form):
        client = self.spec.get("client") or {}
        want = f"/{client.get('tenant')}/oauth2/v2.0/token"
        one = lambda k: (form.get(k) or [None])[0]
        if (path == want and one("client_id") == client.get("client_id")
                and one("client_secret") == client.get("client_secret")
                and one("grant_type") == "client_credentials"
                and one("scope") == "https://graph.microsoft.com/.default"):
            return 200, {"access_token": self.spec["token"], "token_type": "Bearer"}, {}
        return 401, {"error": "invalid_client"}, {}

    def get(self, raw_path, headers):
        if headers.get("Authorization") != "Bearer " + self.spec["token"]:
            return 401, graph_error("InvalidAuthenticationToken", "Access token is empty."), {}
        url = urllib.parse.urlsplit(raw_path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        # /v1.0/users/{mailbox}/mailFolders[/{id}/(childFolders|messages)]
        if parts[:1] != ["v1.0"]:
            return 404, graph_error("NotFound", "no such version"), {}
        parts = parts[1:]
        if parts[:1] == ["me"]:
            parts = parts[1:]
        elif parts[:2] == ["users", self.spec["mailbox"]]:
            parts = parts[2:]
        else:
            return 404, graph_error("ErrorInvalidUser", "no such mailbox"), {}
        if parts == ["mailFolders"]:
            return self.page(raw_path, query, self.folder_views(None),
                             self.spec.get("folder_page_size", 100), throttle=False)
        if len(parts) == 3 and parts[0] == "mailFolders" and parts[1] in self.folders:
            folder_id = parts[1]
            if parts[2] == "childFolders":
                return self.page(raw_path, query, self.folder_views(folder_id),
                                 self.spec.get("folder_page_size", 100), throttle=False)
            if parts[2] == "messages":
                if query.get("$select") != SELECT or query.get("$expand") != EXPAND:
                    return 400, graph_error("BadRequest", "unexpected $select or $expand"), {}
                messages = []
                for m in self.folders[folder_id].get("messages", []):
                    m = dict(m)
                    m["parentFolderId"] = folder_id
                    m["@odata.etag"] = "W/\"" + m.get("changeKey", "") + "\""
                    messages.append(m)
                return self.page(raw_path, query, messages,
                                 self.spec.get("message_page_size", 10), throttle=True)
        return 404, graph_error("ErrorItemNotFound", "not found"), {}

    def folder_views(self, parent):
        return [{"id": f["id"], "displayName": f["displayName"],
                 "childFolderCount": len(f.get("children", []))}
                for f in self.children.get(parent, [])]

    def page(self, raw_path, query, items, size, throttle):
        throttling = self.spec.get("throttle") or {}
        if throttle and throttling:
            with self.lock:
                throttled = raw_path not in self.seen_pages and \
                    len(self.seen_pages) < throttling.get("pages", 0)
                self.seen_pages.add(raw_path)
            if throttling.get("always") or throttled:
                status = throttling.get("status", 429)
                headers = {}
                if throttling.get("retry_after") is not None:
                    headers["Retry-After"] = str(throttling["retry_after"])
                return status, graph_error("TooManyRequests", "throttled"), headers
        size = min(size, int(query.get("$top", size)))
        skip = int(query.get("$skiptoken", 0))
        body = {"@odata.context": self.base + "/v1.0/$metadata#collection",
                "value": items[skip:skip + size]}
        if skip + size < len(items):
            split = urllib.parse.urlsplit(raw_path)
            query = dict(urllib.parse.parse_qsl(split.query))
            query["$skiptoken"] = str(skip + size)
            body["@odata.nextLink"] = (self.base + split.path + "?"
                                       + urllib.parse.urlencode(query, quote_via=urllib.parse.quote))
        return 200, body, {}

    def stats(self):
        """Requests, throttled answers, and the shortest wait before a retry."""
        throttled = [e for e in self.log if e[3] in (429, 503, 504)]
        delays = []
        for t, _, path, _ in throttled:
            later = [e[0] for e in self.log if e[2] == path and e[0] > t]
            if later:
                delays.append(min(later) - t)
        return {"requests": len(self.log), "throttled": len(throttled),
                "min_retry_delay": min(delays) if delays else None}


def serve_export(spec_path, out, extra):
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "export_server_versions.py")
    with MockGraph(spec) as mock:
        env = dict(os.environ, GRAPH_TOKEN=spec["token"])
        done = subprocess.run(
            [sys.executable, script, "--mailbox", spec["mailbox"], "--base-url",
             mock.base + "/v1.0", "--out", out] + extra,
            env=env, capture_output=True, text=True)
        result = mock.stats()
    result["status"] = done.returncode
    result["stderr"] = done.stderr
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "serve-export":
        sys.exit(serve_export(sys.argv[2], sys.argv[3], sys.argv[4:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
