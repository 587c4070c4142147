use std::net::IpAddr;

use decoders::{Direction, Tx};

use super::*;
use crate::engine::Transport;

fn pkt() -> PacketView {
    PacketView {
        src: IpAddr::from([10, 0, 0, 1]),
        sport: 40000,
        dst: IpAddr::from([10, 0, 0, 2]),
        dport: 20000,
        transport: Transport::Tcp,
        dir: Direction::ToServer,
        established: true,
        app_proto: Some(decoders::AppProto::Dnp3),
        flow_id: u64::MAX - 1,
        secs: 1_700_000_000,
        ip: None,
    }
}

fn script(source: &str) -> Result<Script, String> {
    Script::compile("test.lua", source.as_bytes().to_vec(), Limits::default())
}

fn run(source: &str, input: Input<'_>) -> (bool, LuaStates) {
    let s = script(source).unwrap();
    let mut states = LuaStates::default();
    let p = pkt();
    let call = Call {
        pkt: &p,
        input,
        buffer: None,
    };
    let m = states.matches(0, &s, &call);
    (m, states)
}

#[test]
fn legacy_needs_hand_over_the_payload() {
    let src = r#"
        function init(args)
            local needs = {}
            needs["payload"] = tostring(true)
            needs["http.uri"] = tostring(false)
            return needs
        end
        function match(args)
            local p = args["payload"]
            if p == nil then return 0 end
            if string.find(p, "WRITE", 1, true) then return 1 end
            return 0
        end"#;
    assert_eq!(script(src).unwrap().needs(), ["payload"]);
    assert!(run(src, Input::Payload(b"..WRITE..")).0);
    assert!(!run(src, Input::Payload(b"..READ..")).0);
    assert!(!run(src, Input::Event("dnp3.flooded")).0, "no payload");
}

#[test]
fn dnp3_library_as_suricata_verify_uses_it() {
    // Disable unsolicited responses (function 21), one object header g60v2 all objects.
    let bytes = [0xc0, 0x15, 0x3c, 0x02, 0x06];
    let f = decoders::dnp3::Fragment::new(&bytes).unwrap();
    let tx = Tx::Dnp3(&f);
    let src = r#"
        local dnp3 = require("suricata.dnp3")
        function init(args) return {} end
        function match(args)
            local tx = dnp3.get_tx()
            if not tx["is_request"] then return 0 end
            local request = tx["request"]
            if request == nil or not request["done"] or not request["complete"] then return 0 end
            local h = request.application_header
            local o = request.objects[1]
            if h.function_code == 21 and o.group == 60 and o.variation == 2 then return 1 end
            return 0
        end"#;
    assert!(run(src, Input::Tx(&tx)).0);
    // On anything else, get_tx gives nothing.
    assert!(!run(src, Input::Payload(b"x")).0);
}

#[test]
fn packet_and_flow_libraries() {
    let src = r#"
        local packet = require("suricata.packet")
        local flow = require("suricata.flow")
        function match(args)
            local p = packet.get()
            local ipver, src, dst, proto, sp, dp = p:tuple()
            local f = flow.get()
            return ipver == 4 and src == "10.0.0.1" and dp == 20000 and proto == 6
                and p:payload() == "abc" and f:app_layer_proto() == "dnp3"
                and f:id() == -2
        end"#;
    assert!(run(src, Input::Payload(b"abc")).0);
}

#[test]
fn modbus_library() {
    let adu = [
        0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x11, 0x06, 0x00, 0x2a, 0x01, 0x02,
    ];
    let m = decoders::modbus::Message::decode(
        &decoders::modbus::frame(&adu).unwrap(),
        Direction::ToServer,
    );
    let tx = Tx::Modbus {
        request: Some(&m),
        response: None,
    };
    let src = r#"
        local modbus = require("suricata.modbus")
        function match(args)
            local tx = modbus.get_tx()
            return tx.unit_id == 17 and tx.function_code == 6 and tx.request.address == 42
                and tx.request.value == 258 and tx.response == nil
        end"#;
    assert!(run(src, Input::Tx(&tx)).0);
}

#[test]
fn the_sandbox_reaches_nothing_outside() {
    let src = r#"
        function match(args)
            return io == nil and os == nil and load == nil and loadfile == nil
                and dofile == nil and pcall == nil and debug == nil and package == nil
                and print == nil and string.rep("x", 3) == "xxx"
        end"#;
    assert!(run(src, Input::Payload(b"")).0);
    let e = script(r#"local os = require("os") function match() return 1 end"#).unwrap_err();
    assert!(e.contains("test.lua") && e.contains("not available"), "{e}");
}

#[test]
fn limits_stop_a_runaway_script_and_are_counted() {
    let spin = "function match(args) while true do end end";
    let (m, states) = run(spin, Input::Payload(b""));
    assert!(!m);
    assert_eq!((states.limit_hits, states.errors), (1, 0));
    let hog = r#"
        function match(args)
            local t = {}
            for i = 1, 100000000 do t[i] = string.rep("x", 64) .. i end
            return 1
        end"#;
    let (m, states) = run(hog, Input::Payload(b""));
    assert!(!m);
    assert_eq!(states.limit_hits, 1);
    // A script that spins at load is refused there.
    let e = script("while true do end function match() return 1 end").unwrap_err();
    assert!(e.contains("instruction limit"), "{e}");
    // An error at run time is counted, not a match.
    let (m, states) = run(
        "function match(args) return nil + 1 end",
        Input::Payload(b""),
    );
    assert!(!m);
    assert_eq!((states.limit_hits, states.errors), (0, 1));
}

#[test]
fn a_broken_script_is_refused_naming_it() {
    let e = script("function match(args) return 1").unwrap_err();
    assert!(e.starts_with("lua script test.lua:"), "{e}");
    let e = script("x = 1").unwrap_err();
    assert!(e.contains("no `match`"), "{e}");
}

#[test]
fn rules_load_their_scripts_only_when_allowed() {
    let dir = std::env::temp_dir().join(format!("icsight-lua-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("count.lua"),
        r#"
        local packet = require("suricata.packet")
        function match(args)
            local _, n = string.gsub(packet.get():payload(), "A", "")
            return n >= 3
        end"#,
    )
    .unwrap();
    let text = r#"
alert tcp any any -> any any (msg:"three As after GO"; content:"GO"; lua:count.lua; sid:1;)
alert tcp any any -> any any (msg:"missing"; lua:absent.lua; sid:2;)
"#;
    let sources = [(dir.join("t.rules"), text.to_owned())];
    let vars = crate::Vars::suricata_defaults();
    let classes = crate::Classification::builtin();
    let load = |lua| {
        let opts = crate::LoadOptions { strict: false, lua };
        crate::load_layered(&sources, 1, &vars, &classes, &opts)
    };
    let off = load(None);
    assert_eq!(off.errors.len(), 2);
    assert!(
        off.errors[0].message.contains("lua scripts are disabled"),
        "{:?}",
        off.errors
    );
    let on = load(Some(Limits::default()));
    assert_eq!(on.errors.len(), 1, "{:?}", on.errors);
    assert!(
        on.errors[0].message.contains("lua:absent.lua: cannot read"),
        "{:?}",
        on.errors
    );
    let set = on.ruleset;
    let (mut bits, mut det) = (crate::FlowVars::default(), crate::Detector::default());
    let p = pkt();
    let mut hits = |payload: &[u8]| {
        let mut alerts = Vec::new();
        set.match_packet(&p, payload, false, &mut bits, &mut det, &mut alerts);
        alerts.len()
    };
    assert_eq!(hits(b"GO AAA"), 1);
    assert_eq!(hits(b"GO AA"), 0);
    assert_eq!(hits(b"AAAA"), 0, "the content fails first");
    assert_eq!(det.lua.errors + det.lua.limit_hits, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
