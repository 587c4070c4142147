//! Who an event comes from: the `sensor` block every event carries.

use serde::{Deserialize, Serialize};

/// The identity every event carries in its `sensor` block. The collector stores the scope its
/// credential is bound to, not these words; it only refuses a line that claims another
/// sensor, enterprise or province.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SensorIdentity {
    /// Sensor id, unique within the enterprise: letters, digits, `.`, `_`, `-`.
    pub id: String,
    /// The enterprise's unified social credit code (GB 32100-2015, 18 characters).
    pub enterprise_id: Option<String>,
    /// Province-level administrative division code (GB/T 2260), e.g. `330000`.
    pub province: Option<String>,
    /// Industry class of the enterprise.
    pub industry: Option<Industry>,
    /// Security grade under the classification-and-grading scheme: 1 (highest) to 3.
    pub grade: Option<u8>,
}

/// Industry classes of the enterprise registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Industry {
    Equipment,
    Machinery,
    Automotive,
    Energy,
    Electronics,
    Metallurgy,
    Petrochemical,
    Chemical,
    Mining,
    Pharmaceutical,
    BuildingMaterials,
    LightIndustry,
    Textile,
    Water,
    Other,
}

impl Industry {
    /// Every class, in the order declared.
    pub const ALL: [Industry; 15] = [
        Industry::Equipment,
        Industry::Machinery,
        Industry::Automotive,
        Industry::Energy,
        Industry::Electronics,
        Industry::Metallurgy,
        Industry::Petrochemical,
        Industry::Chemical,
        Industry::Mining,
        Industry::Pharmaceutical,
        Industry::BuildingMaterials,
        Industry::LightIndustry,
        Industry::Textile,
        Industry::Water,
        Industry::Other,
    ];

    /// The name EVE, the registry and the configuration spell (`building_materials`).
    pub const fn name(self) -> &'static str {
        match self {
            Industry::Equipment => "equipment",
            Industry::Machinery => "machinery",
            Industry::Automotive => "automotive",
            Industry::Energy => "energy",
            Industry::Electronics => "electronics",
            Industry::Metallurgy => "metallurgy",
            Industry::Petrochemical => "petrochemical",
            Industry::Chemical => "chemical",
            Industry::Mining => "mining",
            Industry::Pharmaceutical => "pharmaceutical",
            Industry::BuildingMaterials => "building_materials",
            Industry::LightIndustry => "light_industry",
            Industry::Textile => "textile",
            Industry::Water => "water",
            Industry::Other => "other",
        }
    }

    /// The class a name spells.
    pub fn parse(name: &str) -> Option<Industry> {
        Self::ALL.into_iter().find(|i| i.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names() {
        for i in Industry::ALL {
            let json = serde_json::to_string(&i).unwrap();
            assert_eq!(json, format!("\"{}\"", i.name()));
            assert_eq!(Industry::parse(i.name()), Some(i));
        }
        assert_eq!(Industry::parse("Energy"), None);
    }
}
