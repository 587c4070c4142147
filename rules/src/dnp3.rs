//! DNP3 keywords, as Suricata writes them: `dnp3_func`, `dnp3_ind` (`dnp3.ind`), `dnp3_obj`
//! (`dnp3.obj`); `dnp3_data` is a sticky buffer (see [`crate::payload::Buffer`]). Each looks
//! at one application fragment, request or response.

use decoders::dnp3::application::Iin;
use decoders::dnp3::{Fragment, Limits};

use crate::KeywordError;

/// Function names and codes, as Suricata names them.
const FUNCTIONS: [(&str, u8); 37] = [
    ("confirm", 0),
    ("read", 1),
    ("write", 2),
    ("select", 3),
    ("operate", 4),
    ("direct_operate", 5),
    ("direct_operate_nr", 6),
    ("immed_freeze", 7),
    ("immed_freeze_nr", 8),
    ("freeze_clear", 9),
    ("freeze_clear_nr", 10),
    ("freeze_at_time", 11),
    ("freeze_at_time_nr", 12),
    ("cold_restart", 13),
    ("warm_restart", 14),
    ("initialize_data", 15),
    ("initialize_appl", 16),
    ("start_appl", 17),
    ("stop_appl", 18),
    ("save_config", 19),
    ("enable_unsolicited", 20),
    ("disable_unsolicited", 21),
    ("assign_class", 22),
    ("delay_measure", 23),
    ("record_current_time", 24),
    ("open_file", 25),
    ("close_file", 26),
    ("delete_file", 27),
    ("get_file_info", 28),
    ("authenticate_file", 29),
    ("abort_file", 30),
    ("activate_config", 31),
    ("authenticate_req", 32),
    ("authenticate_err", 33),
    ("response", 129),
    ("unsolicited_response", 130),
    ("authenticate_resp", 131),
];

/// Suricata 8's name for bit 0 of IIN2, which the decoder (after Suricata 7's EVE) calls
/// `function_code_not_implemented`; both are accepted.
const NO_FUNC_CODE_SUPPORT: (&str, u16) = ("no_func_code_support", 0x0001);

/// `dnp3_func:<name|number>`.
pub fn parse_func(value: &str) -> Result<u8, KeywordError> {
    let v = value.trim();
    if let Ok(n) = v.parse::<u8>() {
        return Ok(n);
    }
    FUNCTIONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(v))
        .map(|(_, c)| *c)
        .ok_or_else(|| KeywordError::unknown("DNP3 function", v))
}

/// `dnp3_ind` as Suricata 8 reads it: every named (or numbered) indication must be set and
/// every `!`-named one clear; `!N` alone means the whole IIN field is not N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndMatch {
    Flags { set: u16, clear: u16 },
    NotEqual(u16),
}

impl IndMatch {
    pub fn parse(value: &str) -> Result<Self, KeywordError> {
        let v = value.trim();
        let number = |s: &str| {
            crate::num::parse_number(s)
                .ok()
                .and_then(|n| u16::try_from(n).ok())
        };
        if let Some(n) = v.strip_prefix('!').and_then(|s| number(s.trim())) {
            return Ok(IndMatch::NotEqual(n));
        }
        let (mut set, mut clear) = (0u16, 0u16);
        for word in v.split(',').map(str::trim) {
            let (neg, w) = match word.strip_prefix('!') {
                Some(w) => (true, w.trim()),
                None => (false, word),
            };
            let bits = match number(w) {
                Some(n) => n,
                None => Iin::bit(w)
                    .or((w == NO_FUNC_CODE_SUPPORT.0).then_some(NO_FUNC_CODE_SUPPORT.1))
                    .ok_or_else(|| KeywordError::unknown("DNP3 indication", w))?,
            };
            if neg {
                clear |= bits;
            } else {
                set |= bits;
            }
        }
        Ok(IndMatch::Flags { set, clear })
    }

    /// Whether the fragment (a response: requests carry no IIN) matches.
    pub fn matches(&self, frag: &Fragment<'_>) -> bool {
        let Some(iin) = frag.iin() else {
            return false;
        };
        match *self {
            IndMatch::NotEqual(n) => iin.0 != n,
            IndMatch::Flags { set, clear } => iin.0 & set == set && iin.0 & clear == 0,
        }
    }
}

/// `dnp3_obj:<group>,<variation>`.
pub fn parse_obj(value: &str) -> Result<(u8, u8), KeywordError> {
    let (g, v) = value.split_once(',').ok_or(KeywordError::Form {
        keyword: "dnp3_obj",
        form: "GROUP,VARIATION",
    })?;
    let n = |s: &str| {
        let s = s.trim();
        s.parse::<u8>().map_err(|_| KeywordError::OutOfRange {
            value: s.into(),
            min: 0,
            max: 255,
        })
    };
    Ok((n(g)?, n(v)?))
}

/// Whether the fragment holds an object header of this group and variation.
pub fn has_object(frag: &Fragment<'_>, group: u8, variation: u8) -> bool {
    frag.objects(Limits::default())
        .any(|o| o.group == group && o.variation == variation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse_func("cold_restart"), Ok(13));
        assert_eq!(parse_func("21"), Ok(21));
        assert_eq!(parse_func("unsolicited_response"), Ok(130));
        assert!(parse_func("reboot").is_err());
        assert_eq!(parse_obj("12, 1"), Ok((12, 1)));
        assert!(parse_obj("12").is_err());
    }

    #[test]
    fn indications() {
        // A response: control, function 0x81, IIN 0x90 0x00 (device restart, need time).
        let restart = [0xc0, 0x81, 0x90, 0x00];
        let f = Fragment::new(&restart).unwrap();
        let t = |s: &str| IndMatch::parse(s).unwrap().matches(&f);
        assert!(t("device_restart"));
        assert!(t("0x8000"));
        assert!(t("!0"));
        assert!(!t("device_restart,!need_time"));
        assert!(t("need_time"));
        assert!(!t("device_trouble"));
        let quiet = [0xc0, 0x81, 0x00, 0x00];
        let f = Fragment::new(&quiet).unwrap();
        assert!(!IndMatch::parse("!0").unwrap().matches(&f));
        assert!(IndMatch::parse("sleepy").is_err());
        assert_eq!(
            IndMatch::parse("no_func_code_support"),
            IndMatch::parse("function_code_not_implemented")
        );
    }
}
