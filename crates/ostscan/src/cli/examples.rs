//! The EXAMPLES section of each subcommand's long help (`--help`; `-h`
//! stays short), and so of its man page. Kept in one place so that every
//! subcommand has one; each goes before the subcommand's own notes (exit
//! codes, formats).

use clap::Command;

/// (subcommand, examples). `reconcile` has its own in its notes.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "info",
        "\
  ostscan info user.ost
  ostscan info user.ost --verify          # read every page and block, list CRC failures
  ostscan info user.ost --json | jq .file",
    ),
    (
        "items",
        "\
  ostscan items user.ost | jq -c 'select(.folder | test(\"Inbox\"))'
  ostscan items user.ost --all > items.ndjson   # also associated items and orphans",
    ),
    (
        "dump",
        "\
  ostscan dump user.ost --nid 0x200024           # a NID as `ostscan items` prints it
  ostscan dump user.ost --nid 0x8022 --json      # a folder: properties and table rows",
    ),
    (
        "decode",
        "\
  ostscan decode xid 0x5A3C0B0F8B0E3D4E9A4F2C1B6D7E8F900000123A
  ostscan decode pcl @pcl.hex --json             # the value copied into a file",
    ),
    (
        "diff",
        "\
  ostscan diff monday.ost tuesday.ost
  ostscan diff old.ost new.ost --ndjson | jq -c 'select(.type == \"finding\")'",
    ),
    (
        "scan",
        "\
  ostscan scan user.ost
  ostscan scan *.ost --ndjson --out findings.ndjson
  ostscan scan user.ost --json | jq '.files[0].folders'
  ostscan scan user.ost --color always | less -R",
    ),
    (
        "batch",
        "\
  ostscan batch /cases/2026-117 --out batch.ndjson --resume
  find /mnt -name '*.ost' -print0 | ostscan batch --manifest - -0 --out b.ndjson
  ostscan batch --manifest caches.txt --shard 3/16 --out shard3.ndjson",
    ),
    (
        "timeline",
        "\
  ostscan timeline user.ost --out user-timeline.jsonl     # then import into Timesketch
  ostscan timeline user.ost | jq -c 'select(.timestamp_desc == \"Sync Log Time\")'",
    ),
    (
        "completions",
        "\
  ostscan completions bash > ~/.local/share/bash-completion/completions/ostscan
  ostscan completions zsh > ~/.zfunc/_ostscan    # with fpath+=(~/.zfunc)
  ostscan completions fish > ~/.config/fish/completions/ostscan.fish
  ostscan completions powershell >> $PROFILE",
    ),
    (
        "man",
        "\
  ostscan man | man -l -
  ostscan man --dir ~/.local/share/man/man1     # ostscan.1, ostscan-scan.1, ...",
    ),
];

/// `command` with each subcommand's examples first in its long help,
/// followed by what its `after_help` already says.
pub fn with_examples(mut command: Command) -> Command {
    for (name, examples) in EXAMPLES {
        command = command.mut_subcommand(name, |sub| {
            let notes = sub
                .get_after_long_help()
                .or(sub.get_after_help())
                .map(|notes| format!("\n\n{notes}"))
                .unwrap_or_default();
            // The literals begin with `"\` and a line break, which also
            // drops the first line's indent: it is put back here.
            sub.after_long_help(format!("Examples:\n  {examples}{notes}"))
        });
    }
    command
}
