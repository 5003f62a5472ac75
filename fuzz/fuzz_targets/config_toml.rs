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
            corsair_fuzz::check_load_error(text, &error);
            return;
        }
    };
    let written = toml::to_string(&config).expect("a configuration read from TOML writes to TOML");
    match Config::from_toml(&written) {
        Ok(read) => assert_eq!(read, config, "written as {written:?}"),
        Err(error) => panic!("written as {written:?}, read as {error}"),
    }
    corsair_fuzz::exercise_config(&config);
});
