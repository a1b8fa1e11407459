//! Any `CUDA_VISIBLE_DEVICES` value resolves without a panic, to distinct, existing
//! devices.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ranklog::fuzzing::cuda_visible_devices(&String::from_utf8_lossy(data));
});
