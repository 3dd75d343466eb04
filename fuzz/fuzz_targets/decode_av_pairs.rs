#![no_main]
//! AV pair lists: decode, decode_prefix and NtlmV2Response never panic; a decoded list
//! rebuilt pair by pair encodes to the same bytes.
use libfuzzer_sys::fuzz_target;
use ntlm::wire::{NtlmV2Response, TargetInfo, TargetInfoBuilder};

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = TargetInfo::decode(data) {
        assert_eq!(list.as_bytes(), data);
        let rebuilt = TargetInfoBuilder::from_target_info(&list).encode();
        assert_eq!(rebuilt, data);
        let _ = format!("{list:?}");
    }
    if let Ok((list, rest)) = TargetInfo::decode_prefix(data) {
        assert_eq!(list.as_bytes().len() + rest.len(), data.len());
        for pair in list.iter() {
            let _ = pair.value();
        }
    }
    let _ = NtlmV2Response::decode(data);
});
