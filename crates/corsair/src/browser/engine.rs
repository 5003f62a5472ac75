//! The browser engines the model speaks for.

use std::fmt;
use std::str::FromStr;

/// A browser engine whose rules the model follows: the three engines that
/// ship in the browsers people use, each with its own rules where the
/// standard leaves room or the engines depart from it.
///
/// ```
/// use corsair::browser::Engine;
///
/// let engine: Engine = "webkit".parse()?;
/// assert_eq!(engine, Engine::WebKit);
/// assert_eq!(engine.to_string(), "webkit");
/// assert_eq!(engine.product(), "WebKit");
/// assert_eq!(Engine::ALL.len(), 3);
/// # Ok::<(), corsair::browser::UnknownEngine>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Engine {
    /// Chromium's Blink and network service: Chrome, Edge, Opera, Brave.
    Chromium,
    /// Gecko: Firefox.
    Firefox,
    /// WebKit: Safari, and every browser on iOS.
    WebKit,
}

impl Engine {
    /// The three engines, in the order reports list them.
    pub const ALL: [Engine; 3] = [Engine::Chromium, Engine::Firefox, Engine::WebKit];

    /// The name command lines and JSON use: `chromium`, `firefox`, `webkit`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
            Engine::WebKit => "webkit",
        }
    }

    /// The name people read: `Chromium`, `Firefox`, `WebKit`.
    #[must_use]
    pub const fn product(self) -> &'static str {
        match self {
            Engine::Chromium => "Chromium",
            Engine::Firefox => "Firefox",
            Engine::WebKit => "WebKit",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not `chromium`, `firefox` or `webkit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEngine {
    /// The name as given.
    pub name: String,
}

impl fmt::Display for UnknownEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown browser engine {:?}: write chromium, firefox or webkit",
            self.name
        )
    }
}

impl std::error::Error for UnknownEngine {}

impl FromStr for Engine {
    type Err = UnknownEngine;

    /// Reads `chromium`, `firefox` or `webkit`, in any case.
    fn from_str(name: &str) -> Result<Self, UnknownEngine> {
        Engine::ALL
            .into_iter()
            .find(|engine| engine.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownEngine {
                name: name.to_owned(),
            })
    }
}
