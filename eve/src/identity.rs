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
