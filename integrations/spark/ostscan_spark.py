#!/usr/bin/env python3
"""ostscan on Apache Spark: `ostscan batch` over a manifest, one process per
partition, records written as JSON Lines part files (docs/scale.md).

The driver reads the manifest, sorts and deduplicates it exactly as
`ostscan batch --manifest` does, and deals the paths into N partitions by
index modulo N (partition K-1 holds what `--shard K/N` would take). Each
task pipes its paths, NUL-separated, into `ostscan batch --manifest - -0`
and keeps the records of every file that reached its `end` record, byte for
byte. Exit statuses 0, 1 and 2 are normal outcomes; a process that crashes
(a signal, a panic, output cut short) has the files it did not finish
scanned again one at a time, so only a file that crashes alone becomes an
`error` record. The per-partition `summary` records are dropped; the job
writes one summary over all files, counted from the `end` records of the
committed output.

Only the standard library runs on executors: they need a Python of the
driver's minor version, and the ostscan binary (on every node, or shipped
with `spark-submit --files` or `--ship`).
"""

import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SEVERITIES = ("info", "warning", "critical")

# ostscan's own schema version and tool name, used only for the records of a
# file whose scan crashed when no record of the same binary told them.
SCHEMA_VERSION = 2

EPILOG = """\
examples:
  # try it on this machine (2 cores), with the binary from cargo build
  python integrations/spark/ostscan_spark.py --master 'local[2]' \\
      --manifest paths.txt --out results --parquet findings \\
      --ostscan target/release/ostscan

  # on a cluster, shipping the binary to every executor
  spark-submit --master yarn --files /opt/ostscan/ostscan \\
      integrations/spark/ostscan_spark.py \\
      --manifest hdfs:///ostscan/paths.txt --out hdfs:///ostscan/results

output:
  DIR/part-*.txt      the NDJSON records of `ostscan batch` (begin, finding,
                      folder_finding, error, end per file), each file once
  DIR/_SUCCESS        written by Spark when the job committed
  DIR/_summary.json   one `summary` record over all files (also printed on
                      standard output)
  DIR2 (--parquet)    one row per finding: path, path_b64, rule, severity,
                      nid, kind, folder, folder_nid, subject,
                      change_key_hex, change_key_guid, counter

exit status (as `ostscan batch`): 2 a file unreadable or read in part (not
with --allow-partial), the job failed, or bad usage; 1 findings at or above
--fail-on; 0 none of these.

See docs/scale.md."""


# ---------------------------------------------------------------------------
# The manifest, read and ordered the way `ostscan batch --manifest` does it.
# ---------------------------------------------------------------------------

_ASCII_WHITESPACE = b" \t\n\x0c\r"


def parse_manifest(data, null=False):
    """The paths of a manifest, as bytes, in the order written (duplicates
    kept). Lines: a trailing CR is dropped; blank lines and lines starting
    with # are skipped. NUL-separated (`null`): taken exactly, only empty
    entries skipped."""
    separator = b"\0" if null else b"\n"
    paths = []
    for entry in data.split(separator):
        if null:
            if entry:
                paths.append(entry)
            continue
        if entry.endswith(b"\r"):
            entry = entry[:-1]
        if entry.strip(_ASCII_WHITESPACE) == b"" or entry.startswith(b"#"):
            continue
        paths.append(entry)
    return paths


def path_key(path):
    """The sort key of a path that orders and equates paths as Rust's `Path`
    does (by components: `a//b` and `a/b/` are `a/b`, `./` only counts in
    front), so the job's order is `ostscan batch`'s order and partition K-1
    of N holds what `ostscan batch --shard K/N` takes."""
    root, cur, parent, normal = 1, 2, 3, 4
    key = []
    parts = path.split(b"/")
    if path.startswith(b"/"):
        key.append((root, b""))
    for position, part in enumerate(parts):
        if part == b"":
            continue
        if part == b".":
            if position == 0:
                key.append((cur, b""))
            continue
        key.append((parent, b"") if part == b".." else (normal, part))
    return tuple(key)


def sorted_unique(paths):
    """Sorted by `path_key`, each path once (its first spelling kept)."""
    first = {}
    for path in paths:
        first.setdefault(path_key(path), path)
    return [first[key] for key in sorted(first)]


def deal(paths, partitions):
    """Partition i gets the paths at positions i, i+N, i+2N, ...: big
    neighbouring files are spread, and the split depends only on the
    manifest, so a retried partition scans the same files."""
    return [paths[i::partitions] for i in range(partitions)]


# ---------------------------------------------------------------------------
# Paths in records.
# ---------------------------------------------------------------------------


def json_path(path):
    """A path as ostscan writes it: a string when UTF-8, else base64 bytes
    and a lossy text (docs/report.md, "Paths")."""
    try:
        return path.decode("utf-8")
    except UnicodeDecodeError:
        return {
            "bytes": base64.b64encode(path).decode("ascii"),
            "text": path.decode("utf-8", "replace"),
        }


def path_bytes(value):
    """The bytes a record's `path` stands for (the inverse of `json_path`)."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and isinstance(value.get("bytes"), str):
        return base64.b64decode(value["bytes"])
    return None


def dumps(record):
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------
# Executor side: one `ostscan batch` per partition.
# ---------------------------------------------------------------------------


class OstscanUnusable(RuntimeError):
    """ostscan cannot run here at all (missing binary, bad usage): a fault
    of the set-up, not of a file. It fails the task, so Spark retries it
    (elsewhere) and, if it persists, fails the job: nothing is committed."""


def locate_binary(config):
    """The ostscan to run on this executor: a copy shipped with
    `--files`/`--ship`, else the path the driver resolved (shared
    file system, or the same install on every node), else `ostscan` on this
    executor's PATH."""
    tried = []
    name = config["binary_name"]
    shipped_in = []
    try:
        from pyspark import SparkFiles

        shipped_in.append(SparkFiles.getRootDirectory())
    except Exception:  # not in a Spark worker
        pass
    if not config["local"]:
        # On YARN, --files are localized into the container's working
        # directory. (In local mode that is the driver's: not a shipment.)
        shipped_in.append(os.getcwd())
    for directory in shipped_in:
        shipped = os.path.join(directory, name)
        tried.append(shipped + " (shipped)")
        if os.path.isfile(shipped):
            if not os.access(shipped, os.X_OK):
                try:
                    os.chmod(shipped, os.stat(shipped).st_mode | 0o500)
                except OSError:
                    pass
            return shipped
    for candidate in (config["binary_path"], name):
        if not candidate:
            continue
        found = shutil.which(candidate)
        tried.append(candidate)
        if found:
            return found
    raise OstscanUnusable(
        "no ostscan binary on executor %s (tried: %s); install it on every "
        "node, or ship it with spark-submit --files or --ship"
        % (socket.gethostname(), ", ".join(tried))
    )


_TYPE = re.compile(r'^\{"type":"([a-z_]+)"')


def record_type(line):
    """The `type` of a record line (`None` for a line that is not a JSON
    object with a type). ostscan writes `type` first; anything else is
    parsed in full."""
    match = _TYPE.match(line)
    if match:
        return match.group(1)
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record.get("type") if isinstance(record, dict) else None


def describe_exit(returncode):
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "signal %d" % -returncode
        return "was killed by %s" % name
    if returncode == 101:
        return "panicked (exit status 101)"
    return "exited with status %d" % returncode


class Batch:
    """What one `ostscan batch` run left: the files it completed, whether it
    ended normally, and the header of its records (for crash records)."""

    def __init__(self):
        self.done = set()
        self.problem = None
        self.header = None  # (schema_version, tool) of a begin record


def _feed(stdin, paths):
    try:
        for path in paths:
            stdin.write(path + b"\0")
        stdin.close()
    except (BrokenPipeError, OSError):
        pass  # the process ended early; its exit status says why


def run_batch(binary, paths, config, batch):
    """Run `ostscan batch` over `paths`; yield the record lines of each file
    it completed (begin to end), in its order; fill `batch`."""
    command = [binary, "batch", "--manifest", "-", "--null"]
    command += ["--jobs", str(config["jobs"])] + config["flags"]
    with tempfile.TemporaryFile() as stderr:
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
            )
        except OSError as e:
            raise OstscanUnusable(
                "cannot run %s on executor %s: %s" % (binary, socket.gethostname(), e)
            )
        feeder = threading.Thread(target=_feed, args=(process.stdin, paths), daemon=True)
        feeder.start()
        summary = False
        any_output = False
        cut_short = False
        current = None  # (path bytes, lines) of the file being read
        try:
            for raw in process.stdout:
                any_output = True
                if not raw.endswith(b"\n"):
                    cut_short = True  # a torn last line
                    break
                try:
                    line = raw[:-1].decode("utf-8")
                except UnicodeDecodeError:
                    cut_short = True
                    break
                kind = record_type(line)
                if kind in ("begin", "end"):
                    try:
                        record = json.loads(line)
                    except ValueError:
                        cut_short = True
                        break
                    path = path_bytes(record.get("path"))
                    if kind == "begin":
                        current = (path, [line])
                        if batch.header is None:
                            batch.header = (record.get("schema_version"), record.get("tool"))
                    elif current is not None and current[0] == path:
                        current[1].append(line)
                        for kept in current[1]:
                            yield kept
                        batch.done.add(path)
                        current = None
                    else:
                        current = None  # an end without its begin: not kept
                elif kind == "summary":
                    summary = True
                elif kind is None:
                    cut_short = True
                    break
                elif current is not None:
                    current[1].append(line)
                else:
                    yield line  # a record outside any file (none with a manifest)
            process.stdout.close()
            returncode = process.wait()
        finally:
            # The task may be abandoned (killed, or the consumer stopped):
            # never leave our child running.
            if process.poll() is None:
                process.kill()
                process.wait()
        feeder.join()
        stderr.seek(0)
        errors = stderr.read()
    if errors:
        # Kept in the executor's log: ostscan's one line per unreadable file.
        sys.stderr.write(errors.decode("utf-8", "replace"))
    if returncode in (0, 1, 2) and summary and current is None and not cut_short:
        return
    if returncode == 2 and not any_output:
        raise OstscanUnusable(
            "%s batch refused to run on executor %s: %s"
            % (binary, socket.gethostname(), errors.decode("utf-8", "replace").strip()[-500:])
        )
    problem = describe_exit(returncode)
    if returncode in (0, 1, 2):
        problem = "ended its output early (exit status %d)" % returncode
    tail = errors.decode("utf-8", "replace").strip()[-300:]
    batch.problem = problem + (": " + tail if tail else "")


def tool_version(binary):
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, timeout=60, check=False
        ).stdout.decode("utf-8", "replace")
        return out.split()[-1]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def crash_records(path, problem, header):
    """The records of a file whose scan crashed on its own: what ostscan
    writes for a file it cannot read (begin, one `open` error, end with
    status unreadable), the error naming the crash."""
    shown = json_path(path)
    try:
        stat = os.stat(path)
        size = stat.st_size if os.path.isfile(path) else None
    except OSError:
        size = None
    schema_version, tool = header
    yield dumps(
        {
            "type": "begin",
            "path": shown,
            "schema_version": schema_version,
            "tool": tool,
            "file": {
                "path": shown,
                "bytes": size,
                "sha256": None,
                "client": None,
                "format": None,
                "wver": None,
                "crypt": None,
                "header_crc_ok": None,
            },
        }
    )
    yield dumps(
        {
            "type": "error",
            "path": shown,
            "source": "open",
            "structure": "ostscan process",
            "offset": 0,
            "nid": None,
            "nid_hex": None,
            "message": "ostscan %s while scanning this file alone on %s; no results for it"
            % (problem, socket.gethostname()),
        }
    )
    yield dumps(
        {
            "type": "end",
            "path": shown,
            "status": "unreadable",
            "summary": None,
            "namespaces": None,
            "folders": [],
            "sync_issues": None,
        }
    )


def scan_partition(groups, config):
    """The records of one partition (a single list of paths): one
    `ostscan batch` over all of them; after a crash, the files it did not
    finish once more each on its own."""
    paths = [path for group in groups for path in group]
    if not paths:
        return
    binary = locate_binary(config)
    first = Batch()
    yield from run_batch(binary, paths, config, first)
    if first.problem is None:
        return
    sys.stderr.write(
        "ostscan_spark: ostscan %s; scanning its %d unfinished files one by one\n"
        % (first.problem, len([p for p in paths if p not in first.done]))
    )
    header = first.header
    for path in paths:
        if path in first.done:
            continue
        alone = Batch()
        if len(paths) == 1:
            alone = first
        else:
            yield from run_batch(binary, [path], config, alone)
        header = header or alone.header
        if alone.problem is not None and path not in alone.done:
            if header is None:
                header = (SCHEMA_VERSION, {"name": "ostscan", "version": tool_version(binary)})
            sys.stderr.write(
                "ostscan_spark: %s: ostscan %s; recorded as unreadable\n"
                % (path.decode("utf-8", "replace"), alone.problem)
            )
            yield from crash_records(path, alone.problem, header)


# ---------------------------------------------------------------------------
# Totals over the committed output: the `summary` one `ostscan batch` writes.
# ---------------------------------------------------------------------------


def empty_totals():
    return {
        "type": "summary",
        "files": 0,
        "files_unreadable": 0,
        "files_partial": 0,
        "files_skipped": 0,
        "messages": 0,
        "with_change_key": 0,
        "with_pcl": 0,
        "findings": 0,
        "findings_by_rule": {},
        "findings_by_severity": {s: 0 for s in SEVERITIES},
        "errors": 0,
        "folders_to_clear": 0,
        "elapsed_ms": 0,
    }


def add_end(totals, end):
    """Count one `end` record the way `ostscan batch` counts a file (and
    `--resume` counts one kept from an earlier run)."""
    totals["files"] += 1
    status = end.get("status")
    if status == "unreadable":
        totals["files_unreadable"] += 1
        totals["errors"] += 1
    elif status == "partial":
        totals["files_partial"] += 1
    summary = end.get("summary") or {}
    for field in ("messages", "with_change_key", "with_pcl", "findings", "errors"):
        totals[field] += summary.get(field) or 0
    for rule, n in (summary.get("findings_by_rule") or {}).items():
        totals["findings_by_rule"][rule] = totals["findings_by_rule"].get(rule, 0) + n
    for severity in SEVERITIES:
        totals["findings_by_severity"][severity] += (
            summary.get("findings_by_severity") or {}
        ).get(severity) or 0
    totals["folders_to_clear"] += sum(
        1 for f in end.get("folders") or [] if f.get("recommend_clear_offline_items")
    )


def totals_of(lines):
    totals = empty_totals()
    for line in lines:
        add_end(totals, json.loads(line))
    yield totals


def merge_totals(parts):
    """Partition totals added up; rules in the order the first file lists
    them (ostscan's catalogue order)."""
    total = empty_totals()
    for part in parts:
        for key, value in part.items():
            if key == "findings_by_rule":
                for rule, n in value.items():
                    total[key][rule] = total[key].get(rule, 0) + n
            elif key == "findings_by_severity":
                for severity in SEVERITIES:
                    total[key][severity] += value.get(severity, 0)
            elif key != "type":
                total[key] += value
    return total


def exit_status(totals, fail_on, allow_partial):
    """`ostscan batch`'s exit status for these totals."""
    if totals["files_unreadable"] or (totals["files_partial"] and not allow_partial):
        return 2
    at_or_above = SEVERITIES[SEVERITIES.index(fail_on):]
    if any(totals["findings_by_severity"][s] for s in at_or_above):
        return 1
    return 0


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="ostscan_spark.py",
        description="Run `ostscan batch` over a manifest on Apache Spark: one "
        "ostscan process per partition, the records written as JSON Lines "
        "part files.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--manifest",
        required=True,
        metavar="FILE",
        help="paths to scan, one per line (blank lines and # comments skipped), "
        "as every executor sees them; a local file, - for standard input, or a "
        "Hadoop URI (hdfs://, s3a://, ...)",
    )
    parser.add_argument(
        "-0", "--null", action="store_true", help="the manifest is NUL-separated (find -print0)"
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="output directory (must not exist; any Hadoop URI)"
    )
    parser.add_argument(
        "--parquet", metavar="DIR2", help="also write the findings as a Parquet table here"
    )
    parser.add_argument(
        "--ostscan",
        metavar="PATH",
        help="the ostscan binary (default: $OSTSCAN, else ostscan on PATH); a "
        "copy shipped with --files or --ship under the same base name wins on "
        "executors",
    )
    parser.add_argument(
        "--ship",
        action="store_true",
        help="send the binary to every executor (SparkContext.addFile, like "
        "spark-submit --files)",
    )
    parser.add_argument(
        "--partitions",
        type=int,
        metavar="N",
        help="number of partitions, one ostscan process each (default: 4 per "
        "core of the cluster, at most one per file)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="threads of each ostscan process (default: spark.task.cpus, 1 "
        "unless set)",
    )
    parser.add_argument("--master", help="Spark master, e.g. local[2] (default: spark-submit's)")
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting, as spark-submit --conf (repeatable)",
    )
    parser.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default="warning",
        help="exit 1 when a finding has this severity or a higher one (default: warning)",
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="a file read only in part does not make the exit status 2",
    )
    parser.add_argument("--hash", action="store_true", help="ostscan batch --hash")
    parser.add_argument("--verify-rows", action="store_true", help="ostscan batch --verify-rows")
    args = parser.parse_args(argv)
    if args.partitions is not None and args.partitions < 1:
        parser.error("--partitions must be at least 1")
    if args.jobs is not None and args.jobs < 0:
        parser.error("--jobs must be at least 0")
    for setting in args.conf:
        if "=" not in setting:
            parser.error("--conf %r is not KEY=VALUE" % setting)
    if args.parquet is not None and args.parquet.rstrip("/") == args.out.rstrip("/"):
        parser.error("--parquet and --out must be different directories")
    return args


def has_scheme(name):
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", name) is not None


def warn(message):
    sys.stderr.write("ostscan_spark: %s\n" % message)


def hadoop_path(spark, name):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(name)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def read_manifest_bytes(spark, name):
    if name == "-":
        return sys.stdin.buffer.read()
    if has_scheme(name):
        files = spark.sparkContext.binaryFiles(name, 1).collect()
        if len(files) != 1:
            raise ValueError("manifest %s: names %d files, not one" % (name, len(files)))
        return bytes(files[0][1])
    with open(name, "rb") as f:
        return f.read()


def write_small_file(spark, name, text):
    path, fs = hadoop_path(spark, name)
    stream = fs.create(path, False)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def findings_table(spark, out):
    """The committed output's `finding` records, one row each, flattened."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    finding = T.StructType(
        [
            T.StructField("rule", T.StringType()),
            T.StructField("severity", T.StringType()),
            T.StructField("nid", T.LongType()),
            T.StructField("kind", T.StringType()),
            T.StructField("folder", T.StringType()),
            T.StructField("folder_nid", T.LongType()),
            T.StructField("subject", T.StringType()),
            T.StructField(
                "change_key",
                T.StructType(
                    [
                        T.StructField("hex", T.StringType()),
                        T.StructField("guid", T.StringType()),
                        # A LocalId has up to 8 bytes: beyond a signed long.
                        T.StructField("counter", T.DecimalType(20, 0)),
                    ]
                ),
            ),
        ]
    )
    value = F.col("value")
    return (
        spark.read.text(out)
        .where(F.get_json_object(value, "$.type") == "finding")
        .select(
            # A path is a string, or {"bytes", "text"} when not UTF-8.
            F.coalesce(
                F.get_json_object(value, "$.path.text"), F.get_json_object(value, "$.path")
            ).alias("path"),
            F.get_json_object(value, "$.path.bytes").alias("path_b64"),
            F.from_json(value, finding).alias("f"),
        )
        .select(
            "path",
            "path_b64",
            "f.rule",
            "f.severity",
            "f.nid",
            "f.kind",
            "f.folder",
            "f.folder_nid",
            "f.subject",
            F.col("f.change_key.hex").alias("change_key_hex"),
            F.col("f.change_key.guid").alias("change_key_guid"),
            F.col("f.change_key.counter").alias("counter"),
        )
    )


def job_totals(spark, out):
    from pyspark.sql import functions as F

    ends = (
        spark.read.text(out)
        .where(F.get_json_object(F.col("value"), "$.type") == "end")
        .rdd.map(lambda row: row.value)
    )
    return merge_totals(ends.mapPartitions(totals_of).collect())


def start_spark(args):
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    master = args.master or SparkConf().get("spark.master", "")
    if master.startswith("local") and "PYSPARK_PYTHON" not in os.environ:
        # Local workers: this interpreter (it has pyspark), not python3 on PATH.
        os.environ["PYSPARK_PYTHON"] = sys.executable
    builder = SparkSession.builder.appName("ostscan")
    if args.master:
        builder = builder.master(args.master)
    # Progress bars on standard error only on a terminal, unless set.
    if not SparkConf().contains("spark.ui.showConsoleProgress"):
        builder = builder.config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
    for setting in args.conf:
        key, value = setting.split("=", 1)
        builder = builder.config(key, value)
    return builder.getOrCreate()


def run(args, spark):
    started = time.monotonic()
    sc = spark.sparkContext
    for name in [args.out] + ([args.parquet] if args.parquet else []):
        path, fs = hadoop_path(spark, name)
        if fs.exists(path):
            warn("%s exists; give a directory that does not exist yet" % name)
            return 2

    paths = sorted_unique(parse_manifest(read_manifest_bytes(spark, args.manifest), args.null))
    relative = [p for p in paths if not p.startswith(b"/")]
    if relative and not sc.master.startswith("local"):
        warn(
            "%d paths are relative (e.g. %s): executors resolve them in their "
            "own working directory" % (len(relative), relative[0].decode("utf-8", "replace"))
        )

    spec = args.ostscan or os.environ.get("OSTSCAN") or "ostscan"
    resolved = shutil.which(spec)
    if resolved:
        resolved = os.path.abspath(resolved)
    if args.ship:
        if not resolved:
            warn("--ship: no ostscan binary %s here to ship" % spec)
            return 2
        sc.addFile(resolved)
    config = {
        "binary_name": os.path.basename(spec),
        "local": sc.master.startswith("local"),
        "binary_path": resolved or (spec if "/" in spec else None),
        "jobs": args.jobs if args.jobs is not None else int(sc.getConf().get("spark.task.cpus", "1")),
        "flags": (["--hash"] if args.hash else []) + (["--verify-rows"] if args.verify_rows else []),
    }
    partitions = args.partitions or 4 * sc.defaultParallelism
    partitions = max(1, min(partitions, len(paths)))
    warn("%d files in %d partitions" % (len(paths), partitions))

    records = sc.parallelize(deal(paths, partitions), partitions).mapPartitions(
        lambda groups: scan_partition(groups, config)
    )
    spark.createDataFrame(records.map(lambda line: (line,)), "value string").write.text(args.out)

    totals = job_totals(spark, args.out)
    totals["elapsed_ms"] = int((time.monotonic() - started) * 1000)
    line = dumps(totals)
    write_small_file(spark, args.out.rstrip("/") + "/_summary.json", line + "\n")
    if args.parquet:
        findings_table(spark, args.out).write.parquet(args.parquet)
    print(line, flush=True)
    return exit_status(totals, args.fail_on, args.allow_partial)


_UNUSABLE = re.compile(r"OstscanUnusable: (.*)")


def main(argv=None):
    args = parse_args(argv)
    if args.manifest != "-" and not has_scheme(args.manifest) and not os.path.isfile(args.manifest):
        warn("manifest %s: not a readable file" % args.manifest)
        return 2
    try:
        import pyspark  # noqa: F401
    except ImportError:
        warn("pyspark is not installed (pip install pyspark==4.3.0), or run under spark-submit")
        return 2
    spark = start_spark(args)
    try:
        return run(args, spark)
    except Exception as e:  # a failed Spark job, an unwritable output
        message = [line.strip() for line in str(e).strip().splitlines()]
        # Of a failed task, the line that says why (not the Java stack).
        cause = [m.group(1) for m in map(_UNUSABLE.search, message) if m]
        warn("the job failed: %s" % ((cause or message or [type(e).__name__])[0]))
        return 2
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
