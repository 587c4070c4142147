//! The code spaces the registry, the configuration and the reports share: provinces
//! (GB/T 2260), unified social credit codes (GB 32100-2015), industry classes and security
//! grades. A leaf: checking a code needs nothing else of the collector.

pub use icsight_eve::codes::{check_province, check_uscc, PROVINCES};

/// Industry classes of the registry, and how much each weighs in a priority: classes whose
/// plants are critical infrastructure weigh most.
pub const INDUSTRIES: [(&str, u8); 15] = [
    ("energy", 20),
    ("petrochemical", 20),
    ("chemical", 20),
    ("water", 20),
    ("metallurgy", 15),
    ("mining", 15),
    ("pharmaceutical", 15),
    ("equipment", 10),
    ("machinery", 10),
    ("automotive", 10),
    ("electronics", 10),
    ("building_materials", 5),
    ("light_industry", 5),
    ("textile", 5),
    ("other", 5),
];

pub fn check_industry(industry: &str) -> Result<(), String> {
    if INDUSTRIES.iter().any(|(i, _)| *i == industry) {
        Ok(())
    } else {
        let known: Vec<&str> = INDUSTRIES.iter().map(|(i, _)| *i).collect();
        Err(format!(
            "{industry:?} is not an industry class: use {}",
            known.join(", ")
        ))
    }
}

pub fn check_grade(grade: u8) -> Result<(), String> {
    if (1..=3).contains(&grade) {
        Ok(())
    } else {
        Err(format!("{grade} is not a security grade: 1, 2 or 3"))
    }
}
