//! The one reader of configuration files: [`Document`] reads a file (its
//! format from its name, its size bounded), deserializes any serde type
//! from it with every unknown field and wrong type reported at once, and
//! locates fields, so that problems found later (an unsafe policy, a bad
//! URL) point at their line and column too. `Config::from_file`, the proxy
//! and `corsair check` all read through it.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Location};
use super::load::{Format, LoadError};

/// The largest document read: 64 MiB, room for a million origins. A larger
/// file (or `/dev/zero`) is refused before it is read whole.
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

/// The most problems one reading collects before it stops looking.
#[cfg(any(feature = "toml", feature = "json", feature = "yaml"))]
const MAX_PROBLEMS: usize = 100;

/// A configuration document: its text, format and, when read from one, its
/// file.
///
/// ```
/// use corsair::config::Document;
/// use corsair::Format;
///
/// let document = Document::new(
///     "allow_origins = [\"https://app.example.com/\"]\nallow_credentials = \"yes\"\nmax_age = 60\n",
///     Format::Toml,
/// );
/// # #[cfg(feature = "toml")] {
/// let error = document.policy().unwrap_err();
/// let places: Vec<_> = error
///     .diagnostics()
///     .iter()
///     .map(|d| (d.field.as_deref().unwrap_or(""), d.location.as_ref().map(|at| at.line)))
///     .collect();
/// // The origin with a path and the wrong type, both, in the file's order.
/// assert_eq!(places, [("allow_origins[0]", Some(1)), ("allow_credentials", Some(2))]);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    text: String,
    format: Format,
    path: Option<PathBuf>,
}

impl Document {
    /// A document in `format`, not read from a file.
    #[must_use]
    pub fn new(text: impl Into<String>, format: Format) -> Document {
        Document {
            text: text.into(),
            format,
            path: None,
        }
    }

    /// This document, as the text of the file at `path` (which names it in
    /// errors and anchors what it names relative to itself).
    #[must_use]
    pub fn named(mut self, path: impl Into<PathBuf>) -> Document {
        self.path = Some(path.into());
        self
    }

    /// Reads `path`, in the format its extension names.
    ///
    /// # Errors
    /// [`LoadError::UnknownFormat`], [`LoadError::Io`] (also for text that is
    /// not UTF-8) or [`LoadError::TooLarge`].
    pub fn read(path: impl AsRef<Path>) -> Result<Document, LoadError> {
        let path = path.as_ref();
        let format = Format::from_path(path).ok_or_else(|| LoadError::UnknownFormat {
            path: path.to_owned(),
        })?;
        Document::read_as(path, format)
    }

    /// Reads `path` as `format`, whatever its name.
    ///
    /// # Errors
    /// [`LoadError::Io`] (also for text that is not UTF-8) or
    /// [`LoadError::TooLarge`].
    pub fn read_as(path: impl AsRef<Path>, format: Format) -> Result<Document, LoadError> {
        let path = path.as_ref();
        let io = |source| LoadError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(MAX_DOCUMENT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
            return Err(LoadError::TooLarge {
                path: path.to_owned(),
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the file is not UTF-8 text",
            ))
        })?;
        Ok(Document {
            text,
            format,
            path: Some(path.to_owned()),
        })
    }

    /// The text.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The format.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file, when read from one.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// `path` as this document names it: relative to the document's
    /// directory (when it was read from a file), unless absolute. An
    /// `allow_origins_file = "tenants.txt"` next to its configuration is
    /// found wherever the program runs.
    ///
    /// ```
    /// use corsair::config::Document;
    /// use corsair::Format;
    /// use std::path::Path;
    ///
    /// let document = Document::new("", Format::Toml).named("/etc/corsair/proxy.toml");
    /// assert_eq!(document.resolve(Path::new("tenants.txt")), Path::new("/etc/corsair/tenants.txt"));
    /// assert_eq!(document.resolve(Path::new("/srv/tenants.txt")), Path::new("/srv/tenants.txt"));
    /// ```
    #[must_use]
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.path.as_deref().and_then(Path::parent) {
            Some(directory) if path.is_relative() => directory.join(path),
            _ => path.to_owned(),
        }
    }

    /// Resolves the paths `config` names (`allow_origins_file`) against
    /// this document: see [`Document::resolve`]. Every reader of a
    /// [`Config`](super::Config) in a document calls it.
    pub fn resolve_paths(&self, config: &mut super::Config) {
        if let Some(path) = &mut config.allow_origins_file {
            *path = self.resolve(path);
        }
    }

    /// The error for `diagnostics` about this document, each located.
    #[must_use]
    pub fn invalid(&self, diagnostics: Vec<Diagnostic>) -> LoadError {
        LoadError::Invalid {
            format: self.format,
            path: self.path.clone(),
            diagnostics: diagnostics.into_iter().map(|d| self.place(d)).collect(),
        }
    }

    /// `diagnostic`, with the location of its field when it has none and
    /// the format can tell (TOML).
    #[must_use]
    pub fn place(&self, mut diagnostic: Diagnostic) -> Diagnostic {
        if diagnostic.location.is_none()
            && let Some(field) = &diagnostic.field
        {
            diagnostic.location = self.locate(field, diagnostic.code == "unknown-field");
        }
        diagnostic
    }

    /// Where `field` (a path such as `routes[0].cors.allow_origins[2]`) is:
    /// its key when `key`, else its value; the nearest enclosing field when
    /// it is absent. Known for TOML only.
    #[must_use]
    pub fn locate(&self, field: &str, key: bool) -> Option<Location> {
        match self.format {
            #[cfg(feature = "toml")]
            Format::Toml => toml_span(&self.text, &steps(field), key)
                .map(|span| Location::of_span(&self.text, span)),
            _ => {
                let _ = (field, key);
                None
            }
        }
    }

    /// Reads a `T` from the document.
    ///
    /// # Errors
    /// [`LoadError::Invalid`] with every unknown field, missing field and
    /// wrong type (up to 100), or the one syntax error;
    /// [`LoadError::FormatNotEnabled`].
    #[cfg(feature = "serde")]
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, LoadError> {
        self.parse_partial()?.finish()
    }

    /// Reads what it can of a `T`, so that the rest can be checked too:
    /// see [`Partial`].
    ///
    /// # Errors
    /// [`LoadError::FormatNotEnabled`].
    #[cfg(feature = "serde")]
    #[cfg_attr(
        not(any(feature = "toml", feature = "json", feature = "yaml")),
        allow(unreachable_code, clippy::unnecessary_wraps)
    )]
    pub fn parse_partial<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<Partial<'_, T>, LoadError> {
        let (value, diagnostics, removed): (Option<T>, Vec<Diagnostic>, Vec<Vec<Step>>) =
            match self.format {
                #[cfg(feature = "toml")]
                Format::Toml => formats::toml(&self.text),
                #[cfg(feature = "json")]
                Format::Json => formats::json(&self.text),
                #[cfg(feature = "yaml")]
                Format::Yaml => formats::yaml(&self.text),
                #[allow(unreachable_patterns)]
                format => {
                    return Err(LoadError::FormatNotEnabled {
                        format,
                        feature: format.feature(),
                    });
                }
            };
        // The faulty fields, and the field a misspelt one was meant to be
        // (`allow_origins` for `allow_origin`): its absence is the same
        // fault.
        let mut faulty: Vec<Vec<Step>> = Vec::new();
        for diagnostic in &diagnostics {
            let mut at = steps(diagnostic.field.as_deref().unwrap_or(""));
            if let Some(meant) = diagnostic
                .message
                .split_once("did you mean `")
                .and_then(|(_, rest)| rest.split_once('`'))
                .map(|(meant, _)| meant)
            {
                let mut sibling = at.clone();
                sibling.pop();
                sibling.push(Step::Key(meant.to_owned()));
                faulty.push(sibling);
            }
            faulty.push(std::mem::take(&mut at));
        }
        Ok(Partial {
            document: self,
            value,
            diagnostics: diagnostics.into_iter().map(|d| self.place(d)).collect(),
            removed,
            faulty,
        })
    }

    /// The [`Config`](super::Config) at the top level of the document.
    pub(crate) fn config(&self) -> Result<super::Config, LoadError> {
        #[cfg(feature = "serde")]
        return self.parse().map(|mut config| {
            self.resolve_paths(&mut config);
            config
        });
        #[cfg(not(feature = "serde"))]
        return Err(LoadError::FormatNotEnabled {
            format: self.format,
            feature: self.format.feature(),
        });
    }

    /// The compiled policy this document describes (the fields of
    /// [`Config`](super::Config) at the top level).
    ///
    /// # Errors
    /// [`LoadError::Invalid`] with every problem at once, each located:
    /// unknown fields, wrong types, and what [`Policy::new`] refuses in the
    /// fields that read; [`LoadError::FormatNotEnabled`].
    ///
    /// [`Policy::new`]: crate::policy::Policy::new
    #[cfg(feature = "serde")]
    pub fn policy(&self) -> Result<crate::policy::Policy, LoadError> {
        let (policy, partial) = self.compile_policy()?;
        let (_, diagnostics) = partial.into_parts();
        match policy {
            Some(policy) if !diagnostics.iter().any(Diagnostic::is_error) => Ok(policy),
            _ => Err(self.invalid(diagnostics)),
        }
    }

    /// [`Document::policy`] for a tool that adds its own warnings: the
    /// policy when the document is valid, and what was read, with every
    /// problem.
    ///
    /// # Errors
    /// [`LoadError::FormatNotEnabled`].
    #[cfg(feature = "serde")]
    pub fn compile_policy(
        &self,
    ) -> Result<(Option<crate::policy::Policy>, Partial<'_, super::Config>), LoadError> {
        let mut partial = self.parse_partial::<super::Config>()?;
        let policy = match partial.value().cloned().map(|mut config| {
            self.resolve_paths(&mut config);
            crate::policy::Policy::new(config)
        }) {
            Some(Ok(policy)) => Some(policy),
            Some(Err(error)) => {
                partial.add(error.diagnostics(""));
                None
            }
            None => None,
        };
        let valid = !partial.diagnostics().iter().any(Diagnostic::is_error);
        Ok((policy.filter(|_| valid), partial))
    }
}

/// What could be read of a document: the value with every faulty field
/// left out (so defaulted, when it has a default), and the diagnostics.
/// Checks of the value ([`Partial::add`]) then report the problems of the
/// rest of the document in the same run, so that one wrong type does not
/// hide every other mistake.
///
/// **Never use the value when there is a diagnostic**: it is not what was
/// written.
#[cfg(feature = "serde")]
#[derive(Debug)]
pub struct Partial<'a, T> {
    document: &'a Document,
    value: Option<T>,
    diagnostics: Vec<Diagnostic>,
    /// The fields taken out of the tree, each in its steps at the time.
    removed: Vec<Vec<Step>>,
    /// The faulty fields, in the document's steps.
    faulty: Vec<Vec<Step>>,
}

#[cfg(feature = "serde")]
impl<T> Partial<'_, T> {
    /// The value, for checking; `None` when a fault could not be left out
    /// (a syntax error, a required field).
    #[must_use]
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The diagnostics so far.
    #[must_use]
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Adds problems found in the value. Their fields are the value's, in
    /// which the lists lack their faulty elements: each is mapped back to
    /// the document's field and located there. A problem of a field that
    /// is itself faulty (an empty list once its one bad element is left
    /// out) was reported already and is dropped.
    pub fn add(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        for mut diagnostic in diagnostics {
            let steps = original(
                steps(diagnostic.field.as_deref().unwrap_or("")),
                &self.removed,
            );
            if self.faulty.iter().any(|faulty| steps.starts_with(faulty)) {
                continue;
            }
            diagnostic.field = Some(field(&steps)).filter(|field| !field.is_empty());
            diagnostic.location = None;
            self.diagnostics.push(self.document.place(diagnostic));
        }
    }

    /// The value and every diagnostic, in the document's order where it is
    /// known (errors and warnings alike). A field with an error gets no
    /// warning too: one fault, one message.
    #[must_use]
    pub fn into_parts(mut self) -> (Option<T>, Vec<Diagnostic>) {
        let faulty: Vec<Option<String>> = self
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.field.clone())
            .collect();
        self.diagnostics
            .retain(|d| d.is_error() || !faulty.contains(&d.field));
        self.diagnostics
            .sort_by_key(|d| d.location.as_ref().map_or(usize::MAX, |at| at.span.start));
        (self.value, self.diagnostics)
    }

    /// The value, when no diagnostic is an error.
    ///
    /// # Errors
    /// [`LoadError::Invalid`] with every diagnostic.
    pub fn finish(self) -> Result<T, LoadError> {
        let document = self.document;
        match self.into_parts() {
            (Some(value), diagnostics) if !diagnostics.iter().any(Diagnostic::is_error) => {
                Ok(value)
            }
            (_, diagnostics) => Err(document.invalid(diagnostics)),
        }
    }
}

#[cfg(feature = "serde")]
/// `steps` of a tree from which the fields `removed` were taken out (each
/// in the tree's steps at the time), in the original document: every array
/// element taken out shifts the later ones back.
fn original(mut steps: Vec<Step>, removed: &[Vec<Step>]) -> Vec<Step> {
    for taken in removed.iter().rev() {
        let Some((Step::Index(gone), parent)) = taken.split_last() else {
            continue;
        };
        if steps.len() > parent.len()
            && steps.get(..parent.len()) == Some(parent)
            && let Some(Step::Index(index)) = steps.get_mut(parent.len())
            && *index >= *gone
        {
            *index += 1;
        }
    }
    steps
}

/// A step of a field path.
#[cfg(feature = "serde")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// Splits `cors.allow_origins[2]` into `cors`, `allow_origins`, `2`.
#[cfg(feature = "serde")]
pub(crate) fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.find('[').map_or((part, ""), |bracket| {
            (
                part.get(..bracket).unwrap_or(""),
                part.get(bracket..).unwrap_or(""),
            )
        });
        if !key.is_empty() {
            out.push(Step::Key(key.to_owned()));
        }
        while let Some(open) = rest.strip_prefix('[') {
            let Some(close) = open.find(']') else { break };
            if let Ok(index) = open.get(..close).unwrap_or("").parse() {
                out.push(Step::Index(index));
            }
            rest = open.get(close + 1..).unwrap_or("");
        }
    }
    out
}

/// `cors.allow_origins[2]`, the inverse of [`steps`].
#[cfg(feature = "serde")]
pub(crate) fn field(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// The bytes of the key or value at `steps` in a TOML text, or of the
/// nearest enclosing value that exists.
#[cfg(feature = "toml")]
fn toml_span(text: &str, steps: &[Step], key: bool) -> Option<std::ops::Range<usize>> {
    use toml::de::{DeTable, DeValue};
    let document = DeTable::parse(text).ok()?;
    let mut span = None;
    let mut table: Option<&DeTable<'_>> = Some(document.get_ref());
    let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
    for (at, step) in steps.iter().enumerate() {
        let last = at + 1 == steps.len();
        let value = match step {
            Step::Key(wanted) => table.and_then(|table| {
                table
                    .iter()
                    .find(|(name, _)| name.get_ref().as_ref() == wanted.as_str())
                    .map(|(name, value)| {
                        if last && key {
                            span = Some(name.span());
                        }
                        value
                    })
            }),
            Step::Index(index) => array.and_then(|items| items.get(*index)),
        };
        let Some(value) = value else { break };
        if !(last && key) {
            span = Some(value.span());
        }
        table = None;
        array = None;
        match value.get_ref() {
            DeValue::Table(inner) => table = Some(inner),
            DeValue::Array(items) => array = Some(items),
            _ => {}
        }
    }
    span
}

/// Deserializing with every fault reported: deserialize, and on an error
/// at a field, note it, take the field out of the document's tree and try
/// again, until the rest reads or a fault cannot be taken out.
#[cfg(any(feature = "toml", feature = "json", feature = "yaml"))]
mod formats {
    use serde::de::DeserializeOwned;

    use super::{Diagnostic, Location, MAX_PROBLEMS, Step, field, original};
    use crate::config::diagnostic::closest;

    /// What a format read: the value (without the faulty fields), the
    /// faults, and the fields taken out, each in the steps of the tree at
    /// the time.
    pub(super) type Reading<T> = (Option<T>, Vec<Diagnostic>, Vec<Vec<Step>>);

    /// A document's value tree, from which a faulty field can be taken out.
    trait Tree: Clone {
        /// Takes out the field at `steps`; whether there was one.
        fn remove(&mut self, steps: &[Step]) -> bool;
    }

    /// One fault: where (in the original document) and what.
    struct Fault {
        steps: Vec<Step>,
        message: String,
        /// Its bytes, when the format's error carries them.
        span: Option<std::ops::Range<usize>>,
    }

    /// A deserializer's error: the path, the message and, when known, the
    /// bytes.
    type Failure = (Vec<Step>, String, Option<std::ops::Range<usize>>);

    /// The loop. `deserialize` gives the error's path and message.
    fn collect<T, V: Tree>(
        text: &str,
        mut tree: V,
        deserialize: impl Fn(V) -> Result<T, Failure>,
    ) -> Reading<T> {
        let mut diagnostics = Vec::new();
        // The fields taken out so far, each in the tree's steps at the time.
        let mut removed: Vec<Vec<Step>> = Vec::new();
        while diagnostics.len() < MAX_PROBLEMS {
            let (mut steps, message, span) = match deserialize(tree.clone()) {
                Ok(value) => return (Some(value), diagnostics, removed),
                Err(error) => error,
            };
            let (code, message) = if let Some(name) = quoted_after(&message, "unknown field `") {
                // serde_path_to_error names the key; other paths may not.
                if steps.last() != Some(&Step::Key(name.to_owned())) {
                    steps.push(Step::Key(name.to_owned()));
                }
                ("unknown-field", unknown_field(name, &message))
            } else if let Some(name) = quoted_after(&message, "missing field `") {
                let mut missing = steps.clone();
                missing.push(Step::Key(name.to_owned()));
                // A required field of the wrong type, taken out above, is
                // reported once, as the wrong type; the table that needs it
                // is taken out too, so that the rest is still read.
                if removed.contains(&missing) {
                    if !steps.is_empty() && tree.remove(&steps) {
                        removed.push(steps);
                        continue;
                    }
                } else {
                    diagnostics.push(located(
                        text,
                        "missing-field",
                        Fault {
                            steps: original(missing, &removed),
                            message,
                            span: None,
                        },
                    ));
                }
                return (None, diagnostics, removed);
            } else {
                ("type", message)
            };
            let at_root = steps.is_empty();
            let taken_out = !at_root && tree.remove(&steps);
            let fault = Fault {
                steps: original(steps.clone(), &removed),
                message,
                // An unknown field is pointed at by its key, found later.
                span: span.filter(|_| code != "unknown-field"),
            };
            diagnostics.push(located(text, code, fault));
            if !taken_out {
                return (None, diagnostics, removed);
            }
            removed.push(steps);
        }
        (None, diagnostics, removed)
    }

    fn located(text: &str, code: &'static str, fault: Fault) -> Diagnostic {
        let mut diagnostic = Diagnostic::error(code, field(&fault.steps), fault.message);
        diagnostic.location = fault.span.map(|span| Location::of_span(text, span));
        diagnostic
    }

    /// The name between backquotes after `prefix` at the start of `message`.
    fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
        let rest = message.strip_prefix(prefix)?;
        rest.get(..rest.find('`')?)
    }

    /// serde says `unknown field `x`, expected one of `a`, `b``; this says
    /// which one was meant when one is close.
    fn unknown_field(name: &str, message: &str) -> String {
        let expected = message
            .split_once("expected ")
            .map_or("", |(_, expected)| expected);
        let known = expected.split('`').skip(1).step_by(2);
        match closest(name, known) {
            Some(known) => format!("unknown field `{name}`; did you mean `{known}`?"),
            None if expected.starts_with("one of") || expected.starts_with('`') => {
                format!("unknown field `{name}`; the fields here are {expected}")
                    .replace("one of ", "")
            }
            None => format!("unknown field `{name}`; there are no fields here"),
        }
    }

    fn path_steps(path: &serde_path_to_error::Path) -> Vec<Step> {
        use serde_path_to_error::Segment;
        path.iter()
            .filter_map(|segment| match segment {
                Segment::Seq { index } => Some(Step::Index(*index)),
                Segment::Map { key } => Some(Step::Key(key.clone())),
                Segment::Enum { variant } => Some(Step::Key(variant.clone())),
                Segment::Unknown => None,
            })
            .collect()
    }

    /// serde_json and YAML end their messages with " at line L column C",
    /// which the [`Location`] carries.
    #[cfg(any(feature = "json", feature = "yaml"))]
    fn strip_location(message: &str) -> String {
        match message.rfind(" at line ") {
            Some(at) => message.get(..at).unwrap_or(message).to_owned(),
            None => message.to_owned(),
        }
    }

    /// TOML's own tree, the one its deserializer reads: integers beyond
    /// `i64` still read into a `u64`, and errors carry their bytes.
    #[cfg(feature = "toml")]
    type TomlTree<'i> = toml::Spanned<toml::de::DeTable<'i>>;

    #[cfg(feature = "toml")]
    impl Tree for TomlTree<'_> {
        fn remove(&mut self, steps: &[Step]) -> bool {
            use toml::de::{DeArray, DeTable, DeValue};
            fn entry<'t, 'i>(
                table: &'t mut DeTable<'i>,
                key: &str,
            ) -> Option<&'t mut toml::Spanned<DeValue<'i>>> {
                table.get_mut(key)
            }
            let Some((last, parents)) = steps.split_last() else {
                return false;
            };
            let mut table = Some(self.get_mut());
            let mut array: Option<&mut DeArray<'_>> = None;
            for step in parents {
                let next = match step {
                    Step::Key(key) => table.take().and_then(|table| entry(table, key)),
                    Step::Index(index) => array.take().and_then(|items| items.get_mut(*index)),
                };
                let Some(next) = next else { return false };
                match next.get_mut() {
                    DeValue::Table(inner) => table = Some(inner),
                    DeValue::Array(items) => array = Some(items),
                    _ => return false,
                }
            }
            match (last, table, array) {
                (Step::Key(key), Some(table), _) => table.remove(key.as_str()).is_some(),
                (Step::Index(index), _, Some(items)) if *index < items.len() => {
                    let old = std::mem::replace(items, DeArray::new());
                    *items = old
                        .into_iter()
                        .enumerate()
                        .filter(|(at, _)| at != index)
                        .map(|(_, value)| value)
                        .collect();
                    true
                }
                _ => false,
            }
        }
    }

    #[cfg(feature = "toml")]
    pub(super) fn toml<T: DeserializeOwned>(text: &str) -> Reading<T> {
        // A valid document, the common case, is read straight from the
        // text: no tree is kept or copied (a million origins stay cheap).
        if let Ok(value) = toml::from_str(text) {
            return (Some(value), Vec::new(), Vec::new());
        }
        let tree = match toml::de::DeTable::parse(text) {
            Ok(tree) => tree,
            Err(error) => {
                let mut diagnostic = Diagnostic::error("syntax", "", error.message().trim_end());
                diagnostic.location = error.span().map(|span| Location::of_span(text, span));
                return (None, vec![diagnostic], Vec::new());
            }
        };
        collect(text, tree, |tree: TomlTree<'_>| {
            serde_path_to_error::deserialize(toml::de::Deserializer::from(tree)).map_err(|error| {
                (
                    path_steps(error.path()),
                    error.inner().message().trim_end().to_owned(),
                    error.inner().span(),
                )
            })
        })
    }

    /// A [`Tree`] for a self-describing format's `Value`: maps (`$map`)
    /// and sequences (`$seq`) of values, indexed by `&str` and `usize`.
    #[cfg(any(feature = "json", feature = "yaml"))]
    macro_rules! value_tree {
        ($value:ty, $map:path, $seq:path) => {
            impl Tree for $value {
                fn remove(&mut self, steps: &[Step]) -> bool {
                    let Some((last, parents)) = steps.split_last() else {
                        return false;
                    };
                    let mut here = self;
                    for step in parents {
                        let next = match step {
                            Step::Key(key) => here.get_mut(key.as_str()),
                            Step::Index(index) => here.get_mut(*index),
                        };
                        let Some(next) = next else { return false };
                        here = next;
                    }
                    match (last, here) {
                        (Step::Key(key), $map(map)) => map.remove(key.as_str()).is_some(),
                        (Step::Index(index), $seq(items)) if *index < items.len() => {
                            items.remove(*index);
                            true
                        }
                        _ => false,
                    }
                }
            }
        };
    }

    #[cfg(feature = "json")]
    value_tree!(
        serde_json::Value,
        serde_json::Value::Object,
        serde_json::Value::Array
    );

    /// Gives the first fault the line and column that parsing the text
    /// directly reports: JSON and YAML trees carry no places.
    #[cfg(any(feature = "json", feature = "yaml"))]
    fn locate_first(
        text: &str,
        diagnostics: &mut [Diagnostic],
        first: Option<(String, usize, usize)>,
    ) {
        if let Some((path, line, column)) = first
            && let Some(diagnostic) = diagnostics
                .iter_mut()
                .find(|d| d.field.as_deref().unwrap_or("") == path)
        {
            diagnostic.location = Some(Location::at(text, line, column));
        }
    }

    /// A serde path as [`field`] writes it (empty for the document itself).
    #[cfg(any(feature = "json", feature = "yaml"))]
    fn path_field(path: &serde_path_to_error::Path) -> String {
        field(&path_steps(path))
    }

    /// JSON and YAML, after one direct read of the text (`first`: where
    /// it failed, the one place these formats give): the tree, or its
    /// syntax error; then every fault, the first located.
    #[cfg(any(feature = "json", feature = "yaml"))]
    fn self_describing<T, V>(
        text: &str,
        tree: Result<V, Diagnostic>,
        first: Option<(String, usize, usize)>,
    ) -> Reading<T>
    where
        T: DeserializeOwned,
        V: Tree + serde::Deserializer<'static>,
        V::Error: std::fmt::Display,
    {
        let tree = match tree {
            Ok(tree) => tree,
            Err(syntax) => return (None, vec![syntax], Vec::new()),
        };
        let (value, mut diagnostics, removed) = collect(text, tree, |tree| {
            serde_path_to_error::deserialize(tree).map_err(|error| {
                (
                    path_steps(error.path()),
                    strip_location(&error.inner().to_string()),
                    None,
                )
            })
        });
        locate_first(text, &mut diagnostics, first);
        (value, diagnostics, removed)
    }

    /// A syntax error of a JSON or YAML text, at `place` when known.
    #[cfg(any(feature = "json", feature = "yaml"))]
    fn syntax(text: &str, message: &str, place: Option<(usize, usize)>) -> Diagnostic {
        let mut diagnostic = Diagnostic::error("syntax", "", strip_location(message));
        diagnostic.location = place.map(|(line, column)| Location::at(text, line, column));
        diagnostic
    }

    #[cfg(feature = "json")]
    pub(super) fn json<T: DeserializeOwned>(text: &str) -> Reading<T> {
        // The common case, a valid document, reads straight from the text.
        let mut direct = serde_json::Deserializer::from_str(text);
        let first = match serde_path_to_error::deserialize::<_, T>(&mut direct) {
            Ok(value) if direct.end().is_ok() => return (Some(value), Vec::new(), Vec::new()),
            Ok(_) => None,
            Err(error) => Some((
                path_field(error.path()),
                error.inner().line(),
                error.inner().column(),
            )),
        };
        let tree = serde_json::from_str::<serde_json::Value>(text).map_err(|error| {
            let place = (error.line() > 0).then(|| (error.line(), error.column()));
            syntax(text, &error.to_string(), place)
        });
        self_describing(text, tree, first)
    }

    #[cfg(feature = "yaml")]
    value_tree!(
        serde_yaml_ng::Value,
        serde_yaml_ng::Value::Mapping,
        serde_yaml_ng::Value::Sequence
    );

    #[cfg(feature = "yaml")]
    pub(super) fn yaml<T: DeserializeOwned>(text: &str) -> Reading<T> {
        let direct = serde_yaml_ng::Deserializer::from_str(text);
        let first = match serde_path_to_error::deserialize::<_, T>(direct) {
            Ok(value) => return (Some(value), Vec::new(), Vec::new()),
            Err(error) => error
                .inner()
                .location()
                .map(|at| (path_field(error.path()), at.line(), at.column())),
        };
        let tree = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).map_err(|error| {
            let place = error.location().map(|at| (at.line(), at.column()));
            syntax(text, &error.to_string(), place)
        });
        self_describing(text, tree, first)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn array_indices_are_those_of_the_original_document() {
            let removed = vec![
                vec![Step::Key("a".into()), Step::Index(1)],
                vec![Step::Key("a".into()), Step::Index(1)],
            ];
            // Two elements gone at 1: what is now a[1] was a[3].
            assert_eq!(
                original(vec![Step::Key("a".into()), Step::Index(1)], &removed),
                [Step::Key("a".into()), Step::Index(3)]
            );
            assert_eq!(
                original(vec![Step::Key("a".into()), Step::Index(0)], &removed),
                [Step::Key("a".into()), Step::Index(0)]
            );
            assert_eq!(
                original(vec![Step::Key("b".into()), Step::Index(1)], &removed),
                [Step::Key("b".into()), Step::Index(1)]
            );
        }

        #[test]
        fn unknown_fields_name_the_closest_field() {
            assert_eq!(
                unknown_field(
                    "alow_headers",
                    "unknown field `alow_headers`, expected one of `allow_origins`, `allow_headers`"
                ),
                "unknown field `alow_headers`; did you mean `allow_headers`?"
            );
            assert_eq!(
                unknown_field(
                    "xyzzy",
                    "unknown field `xyzzy`, expected one of `allow_origins`, `allow_headers`"
                ),
                "unknown field `xyzzy`; the fields here are `allow_origins`, `allow_headers`"
            );
            assert_eq!(
                unknown_field("x", "unknown field `x`, there are no fields"),
                "unknown field `x`; there are no fields here"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "serde")]
    #[test]
    fn field_paths_round_trip() {
        for path in [
            "cors.allow_origins[2]",
            "routes[0].cors",
            "max_age",
            "a[1][2].b",
        ] {
            assert_eq!(field(&steps(path)), path);
        }
        assert_eq!(field(&[]), "");
    }

    #[test]
    fn large_and_binary_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("corsair-document-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("binary.toml");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
        let error = Document::read(&binary).unwrap_err();
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(
            cause.as_deref(),
            Some("the file is not UTF-8 text"),
            "{error}"
        );
        assert!(matches!(
            Document::read(dir.join("cors.ini")),
            Err(LoadError::UnknownFormat { .. })
        ));
        #[cfg(unix)]
        assert!(matches!(
            Document::read_as("/dev/zero", Format::Toml),
            Err(LoadError::TooLarge { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(feature = "toml")]
    #[test]
    fn every_fault_is_reported_once_at_its_place() {
        let text = "allow_credential = true\nallow_method = [\"GET\"]\nalow_headers = 3\n\
                    allow_origins = [\"https://a.example\", 3, \"https://b.example\", false]\n\
                    max_age = \"ten\"\n";
        let error = Document::new(text, Format::Toml)
            .parse::<crate::Config>()
            .unwrap_err();
        let found: Vec<_> = error
            .diagnostics()
            .iter()
            .map(|d| {
                let at = d.location.as_ref().unwrap();
                (d.code, d.field.clone().unwrap(), at.line, at.column)
            })
            .collect();
        let expected = [
            ("unknown-field", "allow_credential", 1, 1),
            ("unknown-field", "allow_method", 2, 1),
            ("unknown-field", "alow_headers", 3, 1),
            ("type", "allow_origins[1]", 4, 39),
            ("type", "allow_origins[3]", 4, 63),
            ("type", "max_age", 5, 11),
        ];
        let mut sorted = found.clone();
        sorted.sort_by_key(|(_, _, line, column)| (*line, *column));
        let expected: Vec<_> = expected
            .iter()
            .map(|(c, f, l, col)| (*c, (*f).to_owned(), *l, *col))
            .collect();
        assert_eq!(sorted, expected, "{error}");
        assert!(
            error.to_string().contains("did you mean `allow_methods`?"),
            "{error}"
        );
    }

    #[cfg(feature = "toml")]
    #[test]
    fn problems_of_what_reads_point_at_the_document_not_the_value() {
        let fields = |text: &str| -> Vec<(&'static str, String)> {
            let error = Document::new(text, Format::Toml).policy().unwrap_err();
            error
                .diagnostics()
                .iter()
                .map(|d| (d.code, d.field.clone().unwrap_or_default()))
                .collect()
        };
        // The value lacks the 3, so its origins[0] is the document's [1].
        assert_eq!(
            fields("allow_origins = [3, \"https://a.example/\"]\n"),
            [
                ("type", "allow_origins[0]".to_owned()),
                ("invalid", "allow_origins[1]".to_owned())
            ]
        );
        // No "no origins" behind the wrong type: one fault, said once.
        assert_eq!(
            fields("allow_origins = 3\n"),
            [("type", "allow_origins".to_owned())]
        );
    }

    #[cfg(feature = "toml")]
    #[test]
    fn a_required_field_of_the_wrong_type_is_one_fault() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Needs {
            cors: crate::Config,
        }
        let error = Document::new("cors = 3\n", Format::Toml)
            .parse::<Needs>()
            .unwrap_err();
        let codes: Vec<_> = error.diagnostics().iter().map(|d| d.code).collect();
        assert_eq!(codes, ["type"], "{error}");
        let error = Document::new("", Format::Toml)
            .parse::<Needs>()
            .unwrap_err();
        let codes: Vec<_> = error.diagnostics().iter().map(|d| d.code).collect();
        assert_eq!(codes, ["missing-field"], "{error}");
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_reports_every_type_error_and_locates_the_first() {
        let text = "{\n  \"allow_origins\": [\"https://a.example\"],\n  \"max_age\": \"x\",\n  \"allow_credentials\": 1\n}";
        let error = Document::new(text, Format::Json)
            .parse::<crate::Config>()
            .unwrap_err();
        let found: Vec<_> = error
            .diagnostics()
            .iter()
            .map(|d| {
                (
                    d.field.clone().unwrap(),
                    d.location.as_ref().map(|at| at.line),
                )
            })
            .collect();
        // The first fault the text meets is located; the next one is named.
        assert_eq!(
            found,
            [
                ("max_age".to_owned(), Some(3)),
                ("allow_credentials".to_owned(), None)
            ],
            "{error}"
        );
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn yaml_reports_every_unknown_field() {
        let text =
            "allow_origins: [\"https://a.example\"]\nallow_credential: true\nexpose_header: []\n";
        let error = Document::new(text, Format::Yaml)
            .parse::<crate::Config>()
            .unwrap_err();
        let fields: Vec<_> = error
            .diagnostics()
            .iter()
            .map(|d| d.field.clone().unwrap())
            .collect();
        assert_eq!(fields, ["allow_credential", "expose_header"], "{error}");
    }
}
