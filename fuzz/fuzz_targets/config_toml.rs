//! `Config::from_toml` on arbitrary text, then `Policy::new` and the
//! requests the configuration was written for (see
//! `corsair_fuzz::exercise_config`). A configuration that reads also writes
//! back to TOML that reads as the same configuration.

#![no_main]

use corsair::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::from_toml(text) {
        Ok(config) => config,
        Err(error) => {
            corsair_fuzz::check_syntax_error(text, &error, 1);
            return;
        }
    };
    let written = toml::to_string(&config).expect("a configuration read from TOML writes to TOML");
    assert_eq!(
        Config::from_toml(&written).as_ref(),
        Ok(&config),
        "written as {written:?}"
    );
    corsair_fuzz::exercise_config(&config);
});
