//! `ostscan completions SHELL` and `ostscan man [--dir DIR]`: what a
//! package installs beside the binary, generated from the same clap
//! definitions as the help, so they cannot drift from it.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, Command};
use clap_complete::Shell;
use ostscan::paths;

use super::output::{self, warn};

const EXIT_CODES: &str = "\
Exit codes: 0 written; 2 the output could not be written, or bad usage.
A closed output pipe (`| head`) ends ostscan quietly with status 0.";

#[derive(Args)]
#[command(after_help = EXIT_CODES)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    pub shell: Shell,
}

const MAN_EXIT_CODES: &str = "\
Exit codes: 0 written; 2 the output (or a page in --dir) could not be
written, or bad usage.
A closed output pipe (`| head`) ends ostscan quietly with status 0.";

#[derive(Args)]
#[command(after_help = MAN_EXIT_CODES)]
pub struct ManArgs {
    /// Write ostscan.1 and one page per subcommand (ostscan-scan.1, ...)
    /// into this directory instead of printing ostscan.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The completion script of `shell` for `command`, on standard output.
pub fn completions(args: &CompletionsArgs, mut command: Command) -> u8 {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "ostscan", &mut script);
    match output::print(&script) {
        Ok(()) => 0,
        Err(code) => code,
    }
}

/// The roff source of one page.
fn page(command: Command) -> Vec<u8> {
    let mut roff = Vec::new();
    // Rendering into a Vec cannot fail.
    let _ = clap_mangen::Man::new(command).render(&mut roff);
    roff
}

/// ostscan(1) on standard output, or every page into `--dir`.
pub fn man(args: &ManArgs, mut command: Command) -> u8 {
    let Some(dir) = &args.dir else {
        return match output::print(&page(command)) {
            Ok(()) => 0,
            Err(code) => code,
        };
    };
    // Subcommands get their pages' names (their display names,
    // ostscan-scan) and the global arguments once the tree is built.
    command.build();
    let mut pages = vec![("ostscan.1".to_string(), command.clone())];
    // clap's own `help` subcommand has nothing a page would add.
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = sub.get_display_name().unwrap_or(sub.get_name());
        pages.push((format!("{name}.1"), sub.clone()));
    }
    for (file, command) in pages {
        let path = dir.join(&file);
        let written = std::fs::File::create(&path).and_then(|mut f| f.write_all(&page(command)));
        if let Err(e) = written {
            warn(format_args!("{}: {e}", paths::display(&path)));
            return 2;
        }
    }
    0
}
