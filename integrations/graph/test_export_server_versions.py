"""export_server_versions.py against the local mock of Graph (mock_graph.py).

Run: python3 -m unittest discover -s integrations/graph -p 'test_*.py'
(tests/reconcile.rs runs it in CI).
"""

import base64
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import export_server_versions as exporter  # noqa: E402
from mock_graph import MockGraph  # noqa: E402


def b64(data):
    return base64.b64encode(data).decode()


def message(n, folder):
    source_key = bytes([0xBC] * 16) + n.to_bytes(6, "big")
    change_key = bytes([0xBC] * 16) + (1000 + n).to_bytes(6, "big")
    ews = (9).to_bytes(4, "little") + len(change_key).to_bytes(4, "little") + change_key
    return {
        "id": f"AAMk-{folder}-{n}",
        "subject": f"message {n} \u00e9",
        "lastModifiedDateTime": "2024-05-01T10:00:00Z",
        "changeKey": b64(ews),
        "singleValueExtendedProperties": [
            {"id": "Binary 0x65e0", "value": b64(source_key)},
            {"id": "Binary 0x65e3", "value": b64(bytes([22]) + change_key)},
        ],
    }


def spec(**extra):
    """Inbox (7 messages) with a subfolder (2), Sent (1), an empty hidden
    folder, and a deeper folder under the subfolder (1)."""
    folders = [
        {"id": "F-inbox", "displayName": "Inbox",
         "messages": [message(n, "inbox") for n in range(1, 8)],
         "children": [
             {"id": "F-sub", "displayName": "Projects",
              "messages": [message(n, "sub") for n in range(20, 22)],
              "children": [{"id": "F-deep", "displayName": "2024",
                            "messages": [message(30, "deep")]}]},
         ]},
        {"id": "F-sent", "displayName": "Sent Items", "messages": [message(40, "sent")]},
        {"id": "F-hidden", "displayName": "Conversation History", "messages": []},
    ]
    s = {"mailbox": "user@example.com", "token": "t0ken", "folder_page_size": 2,
         "message_page_size": 3, "folders": folders}
    s.update(extra)
    return s


class Export(unittest.TestCase):
    def run_export(self, mock, **kw):
        graph = exporter.Graph(mock.base + "/v1.0", kw.pop("token", "t0ken"),
                               sleep=kw.pop("sleep", lambda s: None),
                               log=lambda text: None, **kw)
        out = io.StringIO()
        written, failed = exporter.export(graph, "user@example.com", out, page_size=3,
                                          log=lambda text: None)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        return written, failed, lines, graph

    def test_every_message_of_every_folder_once_with_its_path(self):
        with MockGraph(spec()) as mock:
            written, failed, lines, graph = self.run_export(mock)
        self.assertEqual(failed, [])
        self.assertEqual(written, 11)
        ids = [m["id"] for m in lines]
        self.assertEqual(len(ids), len(set(ids)))
        paths = {m["id"]: m["folderPath"] for m in lines}
        self.assertEqual(paths["AAMk-inbox-7"], "/Inbox")
        self.assertEqual(paths["AAMk-sub-21"], "/Inbox/Projects")
        self.assertEqual(paths["AAMk-deep-30"], "/Inbox/Projects/2024")
        self.assertEqual(paths["AAMk-sent-40"], "/Sent Items")
        # As the API returned them: the properties untouched.
        original = message(5, "inbox")
        got = next(m for m in lines if m["id"] == "AAMk-inbox-5")
        for key in ("changeKey", "singleValueExtendedProperties", "subject"):
            self.assertEqual(got[key], original[key])
        self.assertEqual(got["parentFolderId"], "F-inbox")
        # Inbox's 7 messages took 3 pages: the next links were followed.
        pages = [p for (_, _, p, status) in mock.log if "/F-inbox/messages" in p]
        self.assertEqual(len(pages), 3)
        self.assertTrue(any("skiptoken=6" in p for p in pages))
        # The query is the documented one (the mock answers 400 otherwise).
        self.assertTrue(all(status == 200 for (_, _, _, status) in mock.log))

    def test_throttling_waits_as_the_server_says(self):
        waits = []
        s = spec(throttle={"status": 429, "retry_after": "7", "pages": 3})
        with MockGraph(s) as mock:
            written, failed, lines, _ = self.run_export(mock, sleep=waits.append)
        self.assertEqual((written, failed), (11, []))
        self.assertEqual(waits, [7.0, 7.0, 7.0])
        self.assertEqual(sum(1 for e in mock.log if e[3] == 429), 3)

    def test_503_without_retry_after_backs_off(self):
        waits = []
        s = spec(throttle={"status": 503, "pages": 2})
        with MockGraph(s) as mock:
            written, failed, _, _ = self.run_export(mock, sleep=waits.append)
        self.assertEqual((written, failed), (11, []))
        self.assertEqual(waits, [2.0, 2.0])

    def test_waits_are_capped(self):
        waits = []
        s = spec(throttle={"status": 429, "retry_after": "3600", "pages": 1})
        with MockGraph(s) as mock:
            self.run_export(mock, sleep=waits.append, max_wait=5.0)
        self.assertEqual(waits, [5.0])

    def test_a_folder_that_stays_throttled_is_named_and_the_rest_exported(self):
        s = spec(throttle={"status": 429, "retry_after": "0", "always": True})
        with MockGraph(s) as mock:
            written, failed, lines, _ = self.run_export(mock, max_retries=2)
        self.assertEqual(written, 0)
        self.assertEqual(len(failed), 5)
        self.assertIn("429", failed[0][1])

    def test_main_writes_the_listing_atomically_and_reports(self):
        with tempfile.TemporaryDirectory() as d, MockGraph(spec()) as mock:
            out = os.path.join(d, "listing.json")
            env = {"GRAPH_TOKEN": "t0ken"}
            code, err = run_main(["--mailbox", "user@example.com", "--base-url",
                                  mock.base + "/v1.0", "--out", out], env)
            self.assertEqual(code, 0, err)
            self.assertIn("11 messages", err)
            with open(out, encoding="utf-8") as f:
                self.assertEqual(len(f.read().splitlines()), 11)
            self.assertEqual(os.listdir(d), ["listing.json"])

    def test_a_bad_token_fails_with_2_and_leaves_no_file(self):
        with tempfile.TemporaryDirectory() as d, MockGraph(spec()) as mock:
            out = os.path.join(d, "listing.json")
            code, err = run_main(["--mailbox", "user@example.com", "--base-url",
                                  mock.base + "/v1.0", "--out", out], {"GRAPH_TOKEN": "wrong"})
            self.assertEqual(code, 2)
            self.assertIn("InvalidAuthenticationToken", err)
            self.assertEqual(os.listdir(d), [])

    def test_a_folder_failing_gives_1_and_the_others(self):
        s = spec(throttle={"status": 429, "retry_after": "0", "always": True})
        with tempfile.TemporaryDirectory() as d, MockGraph(s) as mock:
            out = os.path.join(d, "listing.json")
            code, err = run_main(["--mailbox", "user@example.com", "--base-url",
                                  mock.base + "/v1.0", "--out", out, "--max-retries", "0"],
                                 {"GRAPH_TOKEN": "t0ken"})
            self.assertEqual(code, 1)
            self.assertIn("/Inbox/Projects", err)
            self.assertTrue(os.path.exists(out))

    def test_app_only_client_credentials(self):
        s = spec(client={"tenant": "contoso", "client_id": "app", "client_secret": "s3cret"})
        with tempfile.TemporaryDirectory() as d, MockGraph(s) as mock:
            out = os.path.join(d, "listing.json")
            args = ["--mailbox", "user@example.com", "--base-url", mock.base + "/v1.0",
                    "--out", out, "--tenant", "contoso", "--client-id", "app",
                    "--authority", mock.base]
            code, err = run_main(args, {"GRAPH_CLIENT_SECRET": "s3cret"})
            self.assertEqual(code, 0, err)
            code, err = run_main(args, {"GRAPH_CLIENT_SECRET": "wrong"})
            self.assertEqual(code, 2)
            self.assertIn("authentication failed", err)

    def test_bad_usage(self):
        code, err = run_main(["--mailbox", "x"], {})
        self.assertEqual(code, 2)
        self.assertIn("no token", err)
        code, _ = run_main(["--mailbox", "x", "--page-size", "0"], {"GRAPH_TOKEN": "t"})
        self.assertEqual(code, 2)


def run_main(argv, env):
    """main() with `env` as the only Graph variables; (status, stderr)."""
    saved = {k: os.environ.pop(k) for k in ("GRAPH_TOKEN", "GRAPH_CLIENT_SECRET")
             if k in os.environ}
    os.environ.update(env)
    err = io.StringIO()
    try:
        with redirect_stderr(err), redirect_stdout(io.StringIO()):
            try:
                code = exporter.main(argv)
            except SystemExit as e:
                code = e.code
    finally:
        for k in env:
            os.environ.pop(k, None)
        os.environ.update(saved)
    return code, err.getvalue()


if __name__ == "__main__":
    unittest.main()
