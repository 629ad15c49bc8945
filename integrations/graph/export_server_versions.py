#!/usr/bin/env python3
"""Export what the server says about every message of a mailbox, for
`ostscan reconcile FILE --server LISTING`.

Pages through the mailbox's folders with Microsoft Graph and writes one
Graph message object a line (the "graph" listing of docs/reconcile.md),
each as the API returned it plus `folderPath`, the folder's path from the
top of the mailbox ("/Inbox/Projects"):

    GET /users/{mailbox}/mailFolders/{id}/messages
        ?$select=id,subject,lastModifiedDateTime,changeKey,parentFolderId
        &$expand=singleValueExtendedProperties($filter=id eq 'Binary 0x65e0'
                 or id eq 'Binary 0x65e2' or id eq 'Binary 0x65e3')

Follows @odata.nextLink, and honours throttling (429, 503 and 504 with
Retry-After). Standard library only.

Authentication: a bearer token with Mail.ReadBasic (delegated, or
application permission for other mailboxes) in the environment variable
named by --token-env (default GRAPH_TOKEN), e.g. from
`az account get-access-token --resource-type ms-graph --query accessToken -o tsv`;
or app-only client credentials with --tenant, --client-id and the secret in
the variable named by --client-secret-env.

Exit status: 0 when every folder was exported, 1 when some folder failed
(the others are written and the failures named on standard error; the
listing is then incomplete), 2 on bad usage, authentication failure or an
output that cannot be written.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

GRAPH = "https://graph.microsoft.com/v1.0"
AUTHORITY = "https://login.microsoftonline.com"
SELECT = "id,subject,lastModifiedDateTime,changeKey,parentFolderId"
EXPAND = (
    "singleValueExtendedProperties($filter=id eq 'Binary 0x65e0'"
    " or id eq 'Binary 0x65e2' or id eq 'Binary 0x65e3')"
)
# Statuses worth another try after waiting.
RETRY_STATUSES = (429, 503, 504)


class GraphError(Exception):
    """A request that failed for good."""

    def __init__(self, url, status, text):
        super().__init__(f"{status} from {url}: {text}")
        self.status = status


class Graph:
    def __init__(self, base, token, max_retries=8, max_wait=120.0, timeout=60.0,
                 sleep=time.sleep, log=None):
        self.base = base.rstrip("/")
        self.token = token
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.timeout = timeout
        self.sleep = sleep
        self.log = log or (lambda text: print(text, file=sys.stderr))
        self.requests = 0

    def get(self, url):
        """GET one URL (absolute, or relative to the base) as JSON, waiting
        as the server asks when it throttles."""
        if not url.startswith(("http://", "https://")):
            url = self.base + url
        attempt = 0
        while True:
            request = urllib.request.Request(url, headers={
                "Authorization": "Bearer " + self.token,
                "Accept": "application/json",
                # Immutable ids do not change when an item moves.
                "Prefer": 'IdType="ImmutableId"',
            })
            self.requests += 1
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.load(response)
            except urllib.error.HTTPError as e:
                body = e.read().decode("utf-8", "replace")
                if e.code in RETRY_STATUSES and attempt < self.max_retries:
                    attempt += 1
                    wait = retry_after(e.headers.get("Retry-After"), attempt)
                    wait = min(wait, self.max_wait)
                    self.log(f"throttled ({e.code}); waiting {wait:g} s (try {attempt})")
                    self.sleep(wait)
                    continue
                raise GraphError(url, e.code, graph_message(body)) from None
            except urllib.error.URLError as e:
                if attempt < self.max_retries:
                    attempt += 1
                    wait = min(2.0 ** attempt, self.max_wait)
                    self.log(f"{e.reason}; retrying in {wait:g} s (try {attempt})")
                    self.sleep(wait)
                    continue
                raise GraphError(url, "no response", str(e.reason)) from None

    def pages(self, url):
        """Every page of a collection, following @odata.nextLink."""
        while url:
            page = self.get(url)
            yield page
            url = page.get("@odata.nextLink")


def retry_after(value, attempt):
    """Seconds to wait: the Retry-After header's, else an exponential backoff."""
    try:
        seconds = float(value)
        if seconds >= 0:
            return seconds
    except (TypeError, ValueError):
        pass
    return float(2 ** attempt)


def graph_message(body):
    try:
        error = json.loads(body)["error"]
        return f"{error.get('code', '?')}: {error.get('message', '')}"
    except (ValueError, KeyError, TypeError):
        return body[:200]


def client_credentials_token(authority, tenant, client_id, secret, timeout=60.0):
    """An app-only token for Graph (OAuth 2.0 client credentials)."""
    url = f"{authority.rstrip('/')}/{urllib.parse.quote(tenant)}/oauth2/v2.0/token"
    data = urllib.parse.urlencode({
        "client_id": client_id,
        "client_secret": secret,
        "scope": "https://graph.microsoft.com/.default",
        "grant_type": "client_credentials",
    }).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data),
                                    timeout=timeout) as response:
            return json.load(response)["access_token"]
    except urllib.error.HTTPError as e:
        raise GraphError(url, e.code, e.read().decode("utf-8", "replace")[:300]) from None


def quote_id(folder_id):
    return urllib.parse.quote(folder_id, safe="")


def user_path(mailbox):
    """`/me` for the signed-in user, else `/users/{mailbox}`."""
    if mailbox.lower() == "me":
        return "/me"
    return "/users/" + urllib.parse.quote(mailbox, safe="@")


def folders(graph, mailbox):
    """(id, path) of every folder, hidden ones included, depth first."""
    root = f"{user_path(mailbox)}/mailFolders"
    query = "?includeHiddenFolders=true&$top=100&$select=id,displayName,childFolderCount"
    stack = [(root + query, "")]
    while stack:
        url, parent = stack.pop()
        children = []
        for page in graph.pages(url):
            for folder in page.get("value", []):
                path = parent + "/" + folder.get("displayName", "")
                children.append((folder["id"], path, folder.get("childFolderCount", 0)))
        for folder_id, path, count in children:
            yield folder_id, path
            if count:
                stack.append((f"{root}/{quote_id(folder_id)}/childFolders{query}", path))


def messages_url(mailbox, folder_id, page_size):
    query = urllib.parse.urlencode({
        "$top": str(page_size),
        "$select": SELECT,
        "$expand": EXPAND,
    }, quote_via=urllib.parse.quote)
    return f"{user_path(mailbox)}/mailFolders/{quote_id(folder_id)}/messages?{query}"


def export(graph, mailbox, out, page_size=100, log=None):
    """Write every message of the mailbox to `out`, one JSON object a line.
    Returns (messages written, [(folder path, error)...])."""
    log = log or (lambda text: print(text, file=sys.stderr))
    written = 0
    failed = []
    for folder_id, path in folders(graph, mailbox):
        count = 0
        try:
            for page in graph.pages(messages_url(mailbox, folder_id, page_size)):
                for message in page.get("value", []):
                    message["folderPath"] = path
                    out.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")))
                    out.write("\n")
                    count += 1
        except GraphError as e:
            failed.append((path, str(e)))
            log(f"{path}: {e}")
        written += count
    return written, failed


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Export every message's source key, change key and PCL "
                    "from Microsoft Graph, for `ostscan reconcile`.")
    parser.add_argument("--mailbox", required=True,
                        help="the mailbox: user principal name or id ('me' for the signed-in user)")
    parser.add_argument("--out", default="-", help="listing file (default: standard output)")
    parser.add_argument("--base-url", default=GRAPH, help=f"Graph endpoint (default {GRAPH})")
    parser.add_argument("--token-env", default="GRAPH_TOKEN",
                        help="environment variable holding a bearer token (default GRAPH_TOKEN)")
    parser.add_argument("--tenant", help="app-only: the tenant id or domain")
    parser.add_argument("--client-id", help="app-only: the application (client) id")
    parser.add_argument("--client-secret-env", default="GRAPH_CLIENT_SECRET",
                        help="app-only: variable holding the client secret")
    parser.add_argument("--authority", default=AUTHORITY, help=argparse.SUPPRESS)
    parser.add_argument("--page-size", type=int, default=100,
                        help="messages a page (1-1000, default 100)")
    parser.add_argument("--max-retries", type=int, default=8,
                        help="tries after throttling or a failed connection (default 8)")
    parser.add_argument("--max-wait", type=float, default=120.0,
                        help="longest wait between tries, seconds (default 120)")
    args = parser.parse_args(argv)
    if not 1 <= args.page_size <= 1000:
        parser.error("--page-size must be 1 to 1000")

    try:
        if args.tenant or args.client_id:
            secret = os.environ.get(args.client_secret_env)
            if not (args.tenant and args.client_id and secret):
                parser.error("app-only needs --tenant, --client-id and the secret in "
                             f"${args.client_secret_env}")
            token = client_credentials_token(args.authority, args.tenant, args.client_id, secret)
        else:
            token = os.environ.get(args.token_env)
            if not token:
                parser.error(f"no token: set ${args.token_env} or use --tenant/--client-id")
    except GraphError as e:
        print(f"export_server_versions: authentication failed: {e}", file=sys.stderr)
        return 2

    graph = Graph(args.base_url, token, max_retries=args.max_retries, max_wait=args.max_wait)
    # Written to a temporary file beside --out and renamed when complete,
    # so that a failed run never leaves a listing that looks whole.
    temp = None
    try:
        if args.out == "-":
            out = sys.stdout
        else:
            temp = f"{args.out}.{os.getpid()}.tmp"
            out = open(temp, "w", encoding="utf-8", newline="\n")
        try:
            written, failed = export(graph, args.mailbox, out, args.page_size)
            out.flush()
        finally:
            if out is not sys.stdout:
                out.close()
        if temp:
            os.replace(temp, args.out)
            temp = None
    except GraphError as e:
        # The folder list itself failed: nothing usable.
        print(f"export_server_versions: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"export_server_versions: {e}", file=sys.stderr)
        return 2
    finally:
        if temp and os.path.exists(temp):
            os.remove(temp)
    print(f"export_server_versions: {written} messages, {graph.requests} requests"
          + (f", {len(failed)} folders failed" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
