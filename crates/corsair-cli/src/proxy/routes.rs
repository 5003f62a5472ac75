//! Which policy governs a path: the longest matching `path_prefix`, else
//! the default `[cors]` policy.

use std::sync::Arc;

use corsair::policy::Policy;

/// The compiled policies of a proxy file.
#[derive(Clone, Debug)]
pub struct RouteTable {
    default: Arc<Policy>,
    /// Sorted by prefix length, longest first, so the first match wins.
    routes: Vec<(String, Arc<Policy>)>,
}

impl RouteTable {
    /// A table of `routes` (prefix, policy) over `default`.
    #[must_use]
    pub fn new(default: Arc<Policy>, mut routes: Vec<(String, Arc<Policy>)>) -> Self {
        routes.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        RouteTable { default, routes }
    }

    /// The policy for a request path. Prefixes match bytes, so `/api`
    /// matches `/api`, `/api/` and `/apiv2`; write `/api/` to mean the
    /// directory.
    #[must_use]
    pub fn policy_for(&self, path: &str) -> &Arc<Policy> {
        self.route_for(path).1
    }

    /// Every policy with its route's prefix (`None` for the default
    /// policy, which comes first).
    pub fn policies(&self) -> impl Iterator<Item = (Option<&str>, &Arc<Policy>)> {
        std::iter::once((None, &self.default)).chain(
            self.routes
                .iter()
                .map(|(prefix, policy)| (Some(prefix.as_str()), policy)),
        )
    }

    /// The prefix of the route that governs `path` (`None` for the default
    /// policy), and its policy.
    #[must_use]
    pub fn route_for(&self, path: &str) -> (Option<&str>, &Arc<Policy>) {
        self.routes
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map_or((None, &self.default), |(prefix, policy)| {
                (Some(prefix.as_str()), policy)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corsair::Config;

    fn policy(origin: &str) -> Arc<Policy> {
        Arc::new(
            Policy::new(Config {
                allow_origins: vec![origin.to_owned()],
                ..Config::default()
            })
            .unwrap(),
        )
    }

    #[test]
    fn the_longest_prefix_wins_whatever_the_order() {
        let table = RouteTable::new(
            policy("https://default.example"),
            vec![
                ("/api/".to_owned(), policy("https://api.example")),
                ("/api/public/".to_owned(), policy("https://public.example")),
            ],
        );
        let origin = |path: &str| table.policy_for(path).config().allow_origins[0].clone();
        assert_eq!(origin("/api/public/x"), "https://public.example");
        assert_eq!(origin("/api/private"), "https://api.example");
        assert_eq!(origin("/api"), "https://default.example");
        assert_eq!(origin("/"), "https://default.example");
    }
}
