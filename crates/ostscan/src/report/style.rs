//! How the text forms mark what matters on a terminal: severities, files
//! that could not be read, integrity failures. [`Palette::plain`] marks
//! nothing (a pipe, a file, `--color never`, `NO_COLOR`); the CLI chooses.

use std::fmt;

use anstyle::{AnsiColor, Style};

use crate::rules::Severity;

/// The styles of the text forms. Every style of [`Palette::plain`] is
/// empty, so that plain text has no escape codes at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Palette {
    pub critical: Style,
    pub warning: Style,
    pub info: Style,
    /// A file or structure that could not be read, a failed check.
    pub problem: Style,
    /// The line naming a file.
    pub heading: Style,
}

impl Palette {
    /// No escape codes.
    pub fn plain() -> Palette {
        Palette::default()
    }

    /// ANSI colours: critical bold red, warning yellow, info cyan.
    pub fn colored() -> Palette {
        Palette {
            critical: AnsiColor::Red.on_default().bold(),
            warning: AnsiColor::Yellow.on_default(),
            info: AnsiColor::Cyan.on_default(),
            problem: AnsiColor::Red.on_default().bold(),
            heading: Style::new().bold(),
        }
    }

    pub fn severity(&self, severity: Severity) -> Style {
        match severity {
            Severity::Critical => self.critical,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }
}

/// `text` in `style`: the codes around it, and the formatter's width and
/// alignment applied to the text alone (`{:<9}` pads "warning", not the
/// escape codes).
pub struct Painted<T>(pub Style, pub T);

impl<T: fmt::Display> fmt::Display for Painted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Painted(style, text) = self;
        write!(f, "{style}")?;
        if f.width().is_some() {
            f.pad(&text.to_string())?;
        } else {
            write!(f, "{text}")?;
        }
        write!(f, "{style:#}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_has_no_codes_and_pads_like_a_str() {
        let plain = Palette::plain();
        assert_eq!(
            format!("[{:<9}]", Painted(plain.critical, "critical")),
            "[critical ]"
        );
        assert_eq!(format!("{}", Painted(plain.problem, 3)), "3");
    }

    #[test]
    fn colours_wrap_the_padded_word() {
        let colored = Palette::colored();
        let text = format!("{:<9}|", Painted(colored.warning, "warning"));
        assert_eq!(text, "\x1b[33mwarning  \x1b[0m|");
        assert_eq!(colored.severity(Severity::Critical), colored.critical);
        assert_eq!(colored.severity(Severity::Info), colored.info);
    }
}
