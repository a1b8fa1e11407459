//! No text, however hostile, leaves a control character in a console line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ranklog::fuzzing::console_escape(&String::from_utf8_lossy(data));
});
