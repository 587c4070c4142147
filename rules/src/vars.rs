//! Rule variables: `$HOME_NET`, `$MODBUS_SERVER`, `$S7_CLIENT`, … and port groups such as
//! `$HTTP_PORTS`, defined in the sensor's configuration.

use std::collections::HashMap;

/// Address and port variables, by name without the `$`.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    addresses: HashMap<String, String>,
    ports: HashMap<String, String>,
}

impl Vars {
    /// The groups Suricata's default configuration defines, so that rules written for it load:
    /// `HOME_NET` the private ranges, `EXTERNAL_NET` `!$HOME_NET`, every other address group
    /// (ICS servers and clients included) `any`.
    pub fn suricata_defaults() -> Self {
        let mut v = Vars::default();
        v.set_address("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]");
        for name in [
            "HTTP_SERVERS",
            "SMTP_SERVERS",
            "SQL_SERVERS",
            "DNS_SERVERS",
            "TELNET_SERVERS",
            "AIM_SERVERS",
            "DC_SERVERS",
            "DNP3_SERVER",
            "DNP3_CLIENT",
            "MODBUS_CLIENT",
            "MODBUS_SERVER",
            "ENIP_CLIENT",
            "ENIP_SERVER",
            "IEC104_CLIENT",
            "IEC104_SERVER",
            "OPCUA_CLIENT",
            "OPCUA_SERVER",
            "MMS_CLIENT",
            "MMS_SERVER",
            "S7_CLIENT",
            "S7_SERVER",
        ] {
            v.set_address(name, "any");
        }
        v.set_address("EXTERNAL_NET", "!$HOME_NET");
        for (name, value) in [
            ("HTTP_PORTS", "80"),
            ("SHELLCODE_PORTS", "!80"),
            ("ORACLE_PORTS", "1521"),
            ("SSH_PORTS", "22"),
            ("DNP3_PORTS", "20000"),
            ("MODBUS_PORTS", "502"),
            ("S7_PORTS", "102"),
            ("IEC104_PORTS", "2404"),
            ("OPCUA_PORTS", "4840"),
            ("MMS_PORTS", "102"),
            ("ENIP_PORTS", "44818"),
            ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
            ("FTP_PORTS", "21"),
        ] {
            v.set_port(name, value);
        }
        v
    }

    pub fn set_address(&mut self, name: &str, value: &str) {
        self.addresses.insert(name.to_owned(), value.to_owned());
    }

    pub fn set_port(&mut self, name: &str, value: &str) {
        self.ports.insert(name.to_owned(), value.to_owned());
    }

    pub fn address(&self, name: &str) -> Option<&str> {
        self.addresses.get(name).map(String::as_str)
    }

    pub fn port(&self, name: &str) -> Option<&str> {
        self.ports.get(name).map(String::as_str)
    }
}
