//! `Config::from_json` on arbitrary text, then `Policy::new` and the
//! requests the configuration was written for (see
//! `corsair_fuzz::exercise_config`). A configuration that reads also writes
//! back to JSON that reads as the same configuration.

#![no_main]

use corsair::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::from_json(text) {
        Ok(config) => config,
        Err(error) => {
            corsair_fuzz::check_load_error(text, &error);
            return;
        }
    };
    let written =
        serde_json::to_string(&config).expect("a configuration read from JSON writes to JSON");
    match Config::from_json(&written) {
        Ok(read) => assert_eq!(read, config, "written as {written:?}"),
        Err(error) => panic!("written as {written:?}, read as {error}"),
    }
    corsair_fuzz::exercise_config(&config);
});
