//! The codes a record carries to say whose it is, as every tier checks them: the enterprise's
//! unified social credit code (GB 32100-2015) and the province's GB/T 2260 code.

/// Province-level codes of GB/T 2260: the 31 mainland provinces, autonomous regions and
/// municipalities, then Taiwan, Hong Kong and Macao.
pub const PROVINCES: [&str; 34] = [
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000",
    "320000", "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000",
    "440000", "450000", "460000", "500000", "510000", "520000", "530000", "540000", "610000",
    "620000", "630000", "640000", "650000", "710000", "810000", "820000",
];

pub fn check_province(code: &str) -> Result<(), String> {
    if PROVINCES.contains(&code) {
        Ok(())
    } else {
        Err(format!(
            "{code:?} is not a GB/T 2260 province-level code (e.g. \"110000\" Beijing, \"330000\" Zhejiang)"
        ))
    }
}

/// Check a unified social credit code: 18 characters from the code's alphabet, the last a
/// check character over the first 17 (GB 32100-2015).
pub fn check_uscc(code: &str) -> Result<(), String> {
    const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let bytes = code.as_bytes();
    if bytes.len() != 18 {
        return Err(format!(
            "{code:?} is not a unified social credit code: it has {} characters, not 18",
            bytes.len()
        ));
    }
    let mut values = [0u32; 18];
    for (i, b) in bytes.iter().enumerate() {
        match ALPHABET.iter().position(|a| a == b) {
            Some(v) => values[i] = v as u32,
            None => {
                return Err(format!(
                "{code:?} is not a unified social credit code: character {} ({:?}) is not allowed",
                i + 1,
                *b as char
            ))
            }
        }
    }
    let sum: u32 = values[..17].iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    if values[17] != check {
        return Err(format!(
            "{code:?} is not a unified social credit code: its check character should be {:?}",
            ALPHABET[check as usize] as char
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uscc_check_digit() {
        // Published example codes with valid check characters.
        check_uscc("91350100M000100Y43").unwrap();
        check_uscc("91110000600037341L").unwrap();
        assert!(check_uscc("91110000600037341M")
            .unwrap_err()
            .contains("should be 'L'"));
        assert!(check_uscc("9111000060003734")
            .unwrap_err()
            .contains("16 characters"));
        assert!(check_uscc("91110000600037341I")
            .unwrap_err()
            .contains("character 18"));
    }

    #[test]
    fn provinces() {
        check_province("330000").unwrap();
        assert!(check_province("339900").unwrap_err().contains("GB/T 2260"));
    }
}
