//! The API under test: the seed API of [`corsair_seed`] behind corsair's
//! tower layer, with a [`RequestLog`] on each side of it.

use anyhow::{Context as _, Result};
use axum::Router;
use corsair::{Config, Cors};
use corsair_seed::SeedApi;

use crate::record::RequestLog;

/// The seed API ([`corsair_seed::SeedApi`]: log in, who am I, items),
/// served behind corsair with a log on each side.
///
/// [`LoggedSeed::wire`] records every request as it arrives, outside
/// corsair (preflights included, with corsair's answers);
/// [`LoggedSeed::app`] records the requests that reached the application,
/// inside corsair. The policy is the caller's, usually
/// [`corsair_seed::policy`]. Clones share the logs and the API's store.
#[derive(Clone, Debug, Default)]
pub struct LoggedSeed {
    /// Everything the browser sent, and what the server answered.
    pub wire: RequestLog,
    /// What corsair let through to the application.
    pub app: RequestLog,
    api: SeedApi,
}

impl LoggedSeed {
    /// A new API with empty logs, no sessions and no items, whose session
    /// cookie is [`corsair_seed::SAME_SITE_COOKIE`] (`SameSite=Lax`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The same API with other attributes on its session cookie (see
    /// [`SeedApi::with_cookie`]), such as
    /// [`corsair_seed::CROSS_SITE_COOKIE`] (`SameSite=None; Secure`), the
    /// one a page on another site needs.
    #[must_use]
    pub fn with_cookie(mut self, attributes: &'static str) -> Self {
        self.api = self.api.with_cookie(attributes);
        self
    }

    /// The API's routes behind `Cors::new(config)`, with
    /// [`LoggedSeed::app`] inside corsair's layer and [`LoggedSeed::wire`]
    /// outside it.
    ///
    /// # Errors
    /// When corsair refuses the configuration.
    pub fn router(&self, config: Config) -> Result<Router> {
        let cors = Cors::new(config).context("corsair refused the configuration")?;
        Ok(self
            .api
            .routes()
            .layer(self.app.clone())
            .layer(cors)
            .layer(self.wire.clone()))
    }

    /// The session token most recently given to `user` by `POST /login`
    /// (see [`SeedApi::token_of`]).
    pub fn token_of(&self, user: &str) -> Option<String> {
        self.api.token_of(user)
    }
}
