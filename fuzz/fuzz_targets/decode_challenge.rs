#![no_main]
//! CHALLENGE_MESSAGE decoding: never panics; the AV pairs it validated iterate cleanly.
use libfuzzer_sys::fuzz_target;
use ntlm::wire::{AvId, ChallengeMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ChallengeMessage::decode(data) {
        let _ = m.target_name.to_string_lossy();
        if let Some(info) = &m.target_info {
            let n = info.iter().count();
            let _ = (info.timestamp(), info.flags(), info.channel_bindings());
            let _ = info.target_name().map(|n| n.to_string_lossy());
            let _ = info.get(AvId::NbComputerName);
            // Every validated pair is reachable by iteration, and the list ends with EOL.
            assert!(info.as_bytes().ends_with(&[0, 0, 0, 0]));
            assert!(n <= info.as_bytes().len() / 4);
        }
        let _ = format!("{m:?}");
        let again = m.encode();
        assert_eq!(ChallengeMessage::decode(&again).as_ref(), Ok(&m));
    }
});
