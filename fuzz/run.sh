#!/bin/sh
# Run one fuzz target at the lowest CPU priority for SECONDS (default 600),
# seeding fuzz/corpus first if it is empty. Logs go to fuzz/logs/TARGET.log.
#
#   fuzz/run.sh walk 600
#
# Only stable Rust is installed, so cargo-fuzz's nightly flags are enabled
# with RUSTC_BOOTSTRAP=1. Address sanitizer by default; pass SANITIZER=none
# to run without it.
set -eu
target=$1
secs=${2:-600}
cd "$(dirname "$0")"
if [ ! -d corpus/"$target" ]; then
    cargo run --release --features seed --bin seed
fi
case $target in
    header) max_len=8192 ;;
    bt_page) max_len=4200 ;;
    xid_pcl) max_len=4096 ;;
    rtf_log) max_len=70000 ;;
    reconcile) max_len=70000 ;;
    ltp) max_len=70000 ;;
    *) max_len=300000 ;;  # file, walk, scan, diff
esac
mkdir -p logs artifacts/"$target"
bin=target/x86_64-unknown-linux-gnu/release/$target
if [ ! -x "$bin" ] || [ -n "${REBUILD:-}" ]; then
    RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz build --sanitizer "${SANITIZER:-address}" "$target"
fi
# The binary directly (not `cargo fuzz run`), so that a source change by
# someone else mid-session does not trigger a rebuild before each run.
exec nice -n 19 "$bin" corpus/"$target" -artifact_prefix=artifacts/"$target"/ \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
    -print_final_stats=1 >logs/"$target".log 2>&1
