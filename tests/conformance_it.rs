//! The IT decoders against tshark on the project's IT captures: `pcaps/it_web_tls.pcap`
//! (CPython's http.server and OpenSSL's s_server answering curl, over HTTP/1.1, TLS 1.2 and
//! TLS 1.3) and `pcaps/it_files.pcap` (pyftpdlib, OpenSSH's sshd and aiosmtpd answering curl
//! over FTP, SFTP and SMTP), and `pcaps/it_smb.pcap` (Samba's smbd answering the Python
//! smbprotocol client over SMB 3.1.1). The EVE events carry what tshark reads from the same
//! frames —
//! request targets and user agents, SNI, JA3 and JA3S, the certificate's serial, names and
//! SHA-1; FTP commands, replies and data connections; SSH banners and HASSH; the SMTP
//! envelope, headers and attachment; SMB commands, statuses, shares, file names and sizes —
//! and rules on those buffers fire once for each frame tshark shows them in.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;

use icsight_tests::{replay_with, root, tshark};
use serde_json::Value;
use sha1::{Digest, Sha1};

fn fields(filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    fields_of("it_web_tls", filter, fields)
}

fn fields_of(capture: &str, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let pcap = root().join(format!("pcaps/{capture}.pcap"));
    let mut args = vec!["-d", "tcp.port==8443,tls", "-Y", filter, "-T", "fields"];
    for f in fields {
        args.extend(["-e", f]);
    }
    tshark(&pcap, &args)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// The events of `pcaps/<capture>.pcap` replayed with the rules in `rules`; the replay must
/// succeed.
fn replay_rules(capture: &str, rules: &Path) -> Vec<Value> {
    let pcap = root().join(format!("pcaps/{capture}.pcap"));
    let r = replay_with(
        &[pcap.as_path()],
        &root().join("tests/conformance.toml"),
        &[OsStr::new("--rules"), rules.as_os_str()],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    r.events
}

fn colon(hex: &str, upper: bool) -> String {
    let pairs: Vec<String> = hex
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let s = pairs.join(":");
    if upper {
        s.to_uppercase()
    } else {
        s.to_lowercase()
    }
}

#[test]
fn http_and_tls_agree_with_tshark() {
    let hellos = fields(
        "tls.handshake.type==1",
        &[
            "tls.handshake.extensions_server_name",
            "tls.handshake.ja3",
            "tls.handshake.ja3_full",
        ],
    );
    let server = fields(
        "tls.handshake.type==2",
        &["tls.handshake.ja3s", "tls.handshake.ja3s_full"],
    );
    let certs = fields(
        "tls.handshake.type==11",
        &["x509af.serialNumber", "tls.handshake.certificate"],
    );
    let requests = fields("http.request", &["http.request.uri", "http.user_agent"]);
    assert_eq!(
        (hellos.len(), server.len(), certs.len(), requests.len()),
        (2, 2, 1, 2)
    );
    let serial = colon(&certs[0][0], true);
    let der = hex::decode(certs[0][1].split(',').next().unwrap()).unwrap();
    let fingerprint = colon(&hex::encode(Sha1::digest(&der)), false);

    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("it.rules");
    std::fs::write(
        &rules,
        format!(
            "alert tls any any -> any any (msg:\"sni\"; tls.sni; content:\"{sni}\"; sid:1;)\n\
             alert tls any any -> any any (msg:\"subject\"; tls_cert_subject; content:\"CN=hmi.plant.example\"; sid:2;)\n\
             alert tls any any -> any any (msg:\"ja3 of the TLS 1.3 client\"; ja3.hash; content:\"{ja3}\"; sid:3;)\n\
             alert tls any any -> any any (msg:\"TLS 1.3\"; tls.version:1.3; sid:4;)\n\
             alert tls any any -> any any (msg:\"fingerprint\"; tls.fingerprint:\"{fingerprint}\"; sid:5;)\n\
             alert http any any -> any any (msg:\"PLC project download\"; flow:to_server; http.uri; content:\".ap17\"; endswith; sid:6;)\n\
             alert http any any -> any any (msg:\"user agent\"; content:\"icsight-hmi\"; http_user_agent; sid:7;)\n\
             alert http any any -> any any (msg:\"project body\"; flow:to_client; file_data; content:\"PPPP\"; sid:8;)\n\
             alert tls any any -> any any (msg:\"certificate CN in the handshake bytes\"; flow:established,from_server; content:\"|55 04 03|\"; content:\"hmi.plant.example\"; distance:2; within:17; tls.fingerprint:\"{fingerprint}\"; sid:9;)\n",
            sni = hellos[0][0],
            ja3 = hellos[1][1],
        ),
    )
    .unwrap();
    let events = replay_rules("it_web_tls", &rules);
    let of = |t: &str| -> Vec<&Value> { events.iter().filter(|e| e["event_type"] == t).collect() };

    let mut sids: BTreeMap<u64, usize> = BTreeMap::new();
    for a in of("alert") {
        *sids
            .entry(a["alert"]["signature_id"].as_u64().unwrap())
            .or_default() += 1;
    }
    let expected: BTreeMap<u64, usize> = [
        (1, 2),
        (2, 1),
        (3, 1),
        (4, 1),
        (5, 1),
        (6, 1),
        (7, 2),
        (8, 1),
        (9, 1),
    ]
    .into();
    assert_eq!(sids, expected, "alerts per rule");

    let tls = of("tls");
    assert_eq!(tls.len(), 2);
    for (t, (hello, sh)) in tls.iter().zip(hellos.iter().zip(&server)) {
        assert_eq!(t["tls"]["sni"], hello[0].as_str());
        assert_eq!(t["tls"]["ja3"]["hash"], hello[1].as_str());
        assert_eq!(t["tls"]["ja3"]["string"], hello[2].as_str());
        assert_eq!(t["tls"]["ja3s"]["hash"], sh[0].as_str());
        assert_eq!(t["tls"]["ja3s"]["string"], sh[1].as_str());
    }
    assert_eq!(tls[0]["tls"]["version"], "TLS 1.2");
    assert_eq!(tls[0]["tls"]["serial"], serial.as_str());
    assert_eq!(tls[0]["tls"]["fingerprint"], fingerprint.as_str());
    assert_eq!(
        tls[0]["tls"]["subject"],
        "C=CN, O=icsight test plant, CN=hmi.plant.example"
    );
    assert_eq!(tls[1]["tls"]["version"], "TLS 1.3");
    assert!(tls[1]["tls"]["ja4"].as_str().unwrap().starts_with("t13d"));

    let http = of("http");
    assert_eq!(http.len(), 2);
    for (h, req) in http.iter().zip(&requests) {
        assert_eq!(h["http"]["url"], req[0].as_str());
        assert_eq!(h["http"]["http_user_agent"], req[1].as_str());
        assert_eq!(h["http"]["status"], 200);
    }
    let files = of("fileinfo");
    assert_eq!(files.len(), 2);
    assert_eq!(files[1]["fileinfo"]["size"], 3000);
}

/// Alerts per signature id.
fn alerts_by_sid(events: &[Value]) -> BTreeMap<u64, usize> {
    let mut sids = BTreeMap::new();
    for a in events.iter().filter(|e| e["event_type"] == "alert") {
        *sids
            .entry(a["alert"]["signature_id"].as_u64().unwrap())
            .or_default() += 1;
    }
    sids
}

#[test]
fn ftp_ssh_and_smtp_agree_with_tshark() {
    let f = |filter: &str, names: &[&str]| fields_of("it_files", filter, names);
    let commands = f(
        "ftp.request.command",
        &["ftp.request.command", "ftp.request.arg"],
    );
    let codes = f("ftp.response.code", &["ftp.response.code"]);
    let data = f("ftp-data", &["tcp.srcport", "tcp.dstport"]);
    let ports = f("ftp.request.command==PORT", &["ftp.active.port"]);
    let banners = f("ssh.protocol", &["ssh.protocol"]);
    let hassh = f("ssh.kex.hassh", &["ssh.kex.hassh"]);
    let hassh_server = f("ssh.kex.hasshserver", &["ssh.kex.hasshserver"]);
    let envelope = f(
        "smtp.req.command==MAIL || smtp.req.command==RCPT",
        &["smtp.req.parameter"],
    );
    let imf = f(
        "imf",
        &[
            "imf.from",
            "imf.to",
            "mime_multipart.header.content-disposition",
        ],
    );
    assert_eq!(
        (
            banners.len(),
            hassh.len(),
            hassh_server.len(),
            envelope.len(),
            imf.len()
        ),
        (2, 1, 1, 3, 1)
    );

    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("it.rules");
    std::fs::write(
        &rules,
        format!(
            "alert ftp any any -> any any (msg:\"retr\"; flow:to_server; ftp.command; content:\"RETR\"; sid:1;)\n\
             alert ftp any any -> any any (msg:\"project by name\"; ftp.command_data; content:\".ap17\"; endswith; sid:2;)\n\
             alert ftp any any -> any any (msg:\"transfer done\"; ftp.completion_code; content:\"226\"; sid:3;)\n\
             alert ftp any any -> any any (msg:\"active\"; ftp.mode:active; sid:4;)\n\
             alert ftp-data any any -> any any (msg:\"download\"; ftpdata_command:retr; sid:5;)\n\
             alert ftp-data any any -> any any (msg:\"project bytes\"; file_data; content:\"PPPP\"; sid:6;)\n\
             alert ssh any any -> any any (msg:\"libssh2 client\"; flow:to_server; ssh.software; content:\"libssh2\"; tag:session,5,packets; sid:7;)\n\
             alert ssh any any -> any any (msg:\"hassh\"; ssh.hassh; content:\"{hassh}\"; sid:8;)\n\
             alert ssh any any -> any any (msg:\"hassh server\"; ssh.hassh.server; content:\"{hassh_server}\"; sid:9;)\n\
             alert smtp any any -> any any (msg:\"recipient\"; smtp.rcpt_to; content:\"integrator\"; sid:10;)\n\
             alert smtp any any -> any any (msg:\"project attached\"; file_data; content:\"PPPP\"; sid:11;)\n",
            hassh = hassh[0][0],
            hassh_server = hassh_server[0][0],
        ),
    )
    .unwrap();
    let events = replay_rules("it_files", &rules);
    let of = |t: &str| -> Vec<&Value> { events.iter().filter(|e| e["event_type"] == t).collect() };
    let count = |cmd: &str| commands.iter().filter(|c| c[0] == cmd).count();

    // FTP: the commands and their arguments, and the reply codes, as tshark reads them.
    let ftp = of("ftp");
    let ours: Vec<(String, String)> = ftp
        .iter()
        .filter(|e| e["ftp"]["command"].is_string())
        .map(|e| {
            let s = |k: &str| e["ftp"][k].as_str().unwrap_or("").to_owned();
            (s("command"), s("command_data"))
        })
        .collect();
    let theirs: Vec<(String, String)> = commands
        .iter()
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect();
    assert_eq!(ours, theirs, "FTP commands");
    let our_codes: Vec<String> = ftp
        .iter()
        .flat_map(|e| {
            e["ftp"]["completion_code"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let their_codes: Vec<String> = codes.iter().map(|c| c[0].clone()).collect();
    assert_eq!(our_codes, their_codes, "FTP reply codes");
    // Every data connection tshark knows is ftp-data here, and the active-mode one it does not
    // follow too (on the port the PORT command named).
    let data_flows: Vec<(u64, u64)> = of("flow")
        .iter()
        .filter(|e| e["app_proto"] == "ftp-data")
        .map(|e| {
            (
                e["src_port"].as_u64().unwrap(),
                e["dest_port"].as_u64().unwrap(),
            )
        })
        .collect();
    for d in &data {
        let (a, b): (u64, u64) = (d[0].parse().unwrap(), d[1].parse().unwrap());
        assert!(
            data_flows.contains(&(a, b)) || data_flows.contains(&(b, a)),
            "{a}-{b} is not ftp-data: {data_flows:?}"
        );
    }
    let port: u64 = ports[0][0].parse().unwrap();
    assert!(data_flows.iter().any(|&(_, dp)| dp == port));
    assert_eq!(
        data_flows.len(),
        count("RETR") + count("STOR") + count("LIST")
    );
    let files = of("ftp_data");
    assert_eq!(files.len(), data_flows.len());

    // SSH: both banners and both HASSHes.
    let ssh = of("ssh");
    assert_eq!(ssh.len(), 1);
    let side = |k: &str| &ssh[0]["ssh"][k];
    for b in &banners {
        let rest = b[0].strip_prefix("SSH-2.0-").unwrap();
        let software = rest.split(' ').next().unwrap();
        assert!(
            side("client")["software_version"] == software
                || side("server")["software_version"] == software,
            "{software}"
        );
    }
    assert_eq!(side("client")["hassh"]["hash"], hassh[0][0].as_str());
    assert_eq!(side("server")["hassh"]["hash"], hassh_server[0][0].as_str());

    // SMTP: the envelope as sent, the headers and the attachment as tshark reads them.
    let smtp = of("smtp");
    assert_eq!(smtp.len(), 1);
    let e = &smtp[0];
    let paths: Vec<String> = envelope
        .iter()
        .map(|p| p[0].split_once(':').unwrap().1.trim().to_owned())
        .collect();
    assert_eq!(e["smtp"]["mail_from"], paths[0].as_str());
    assert_eq!(e["smtp"]["rcpt_to"], serde_json::json!(paths[1..]));
    assert_eq!(e["email"]["from"], imf[0][0].as_str());
    let to: Vec<String> = imf[0][1].split(',').map(str::to_owned).collect();
    let ours: Vec<String> = e["email"]["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ours, to);
    let name = imf[0][2]
        .split("filename=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    assert_eq!(e["email"]["attachment"], serde_json::json!([name]));
    let file = of("fileinfo");
    assert_eq!(file.len(), 1);
    assert_eq!(file[0]["fileinfo"]["size"], 3000);

    let expected: BTreeMap<u64, usize> = [
        (1, count("RETR")),
        (
            2,
            commands.iter().filter(|c| c[1].ends_with(".ap17")).count(),
        ),
        (3, count("RETR") + count("STOR") + count("LIST")),
        (4, count("PORT") * 2),
        (5, count("RETR")),
        (6, 2),
        (7, 1),
        (8, 1),
        (9, 1),
        (10, 1),
        (11, 1),
    ]
    .into();
    assert_eq!(alerts_by_sid(&events), expected, "alerts per rule");
    // A rule's `tag` request is noted on its alert.
    let tagged: Vec<&Value> = of("alert")
        .into_iter()
        .filter(|a| a["alert"]["tag"].is_string())
        .collect();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0]["alert"]["signature_id"], 7);
    assert_eq!(tagged[0]["alert"]["tag"], "session,5,packets");
}

/// A dataset remembered across runs: `dataset:set` with a `state` file alerts on a server
/// name the first time only, writes the names it saw when the sensor stops, and a second run
/// that reads them alerts on none; `isset` against a loaded list finds the name.
#[test]
fn datasets_remember_what_they_saw_across_runs() {
    use base64::Engine;
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("seen.rules");
    std::fs::write(
        &rules,
        "alert tls any any -> any any (msg:\"new server name\"; tls.sni; dataset:set,sni,type string,state sni.lst; sid:1;)\n\
         alert tls any any -> any any (msg:\"listed\"; tls.sni; dataset:isset,bad,type string,load bad.lst; sid:2;)\n",
    )
    .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    std::fs::write(
        tmp.path().join("bad.lst"),
        format!(
            "{}\n{}\n",
            b64.encode("evil.example"),
            b64.encode("hmi.plant.example")
        ),
    )
    .unwrap();
    let run = || alerts_by_sid(&replay_rules("it_web_tls", &rules));
    // Two handshakes to hmi.plant.example: the first is new.
    assert_eq!(run(), [(1, 1), (2, 2)].into());
    let state = std::fs::read_to_string(tmp.path().join("sni.lst")).unwrap();
    assert_eq!(state.trim(), b64.encode("hmi.plant.example"));
    assert_eq!(run(), [(2, 2)].into(), "seen in the first run");
}

#[test]
fn smb_agrees_with_tshark() {
    let f = |filter: &str, names: &[&str]| fields_of("it_smb", filter, names);
    let responses = f(
        "smb2.flags.response==1",
        &["smb2.cmd", "smb2.nt_status", "smb2.msg_id"],
    );
    let created = f("smb2.cmd==5&&smb2.flags.response==0", &["smb2.filename"]);
    let trees = f("smb2.cmd==3&&smb2.flags.response==0", &["smb2.tree"]);
    let sizes = f("smb2.cmd==5&&smb2.flags.response==1", &["smb2.eof"]);
    let dialect = f("smb2.cmd==0&&smb2.flags.response==1", &["smb2.dialect"]);
    let reads = f("smb2.cmd==8&&smb2.flags.response==0", &["smb2.read_length"]);
    let writes = f(
        "smb2.cmd==9&&smb2.flags.response==0",
        &["smb2.write_length"],
    );
    let logins = f(
        "ntlmssp.messagetype==3",
        &["ntlmssp.auth.username", "ntlmssp.auth.hostname"],
    );
    assert!(responses.len() >= 15 && created.len() >= 4, "{responses:?}");

    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("smb.rules");
    std::fs::write(
        &rules,
        "alert smb any any -> any any (msg:\"share\"; smb.share; content:\"projects\"; endswith; sid:1;)\n\
         alert smb any any -> any any (msg:\"project file\"; file.name; content:\".ap17\"; endswith; sid:2;)\n\
         alert smb any any -> any any (msg:\"smb1 probe\"; content:\"|ff|SMB\"; sid:3;)\n\
         alert smb any any -> any any (msg:\"raw create on the wire\"; flow:to_server; content:\"B|00|o|00|i|00|l|00|e|00|r|00|\"; sid:4;)\n\
         alert smb any any -> any any (msg:\"login\"; smb.ntlmssp_user; content:\"plantsmb\"; bsize:8; sid:5;)\n",
    )
    .unwrap();
    let events = replay_rules("it_smb", &rules);
    let smb: Vec<&Value> = events.iter().filter(|e| e["event_type"] == "smb").collect();

    // One event per response, in order, with its command and status.
    let ours: Vec<(String, String)> = smb
        .iter()
        .map(|e| {
            let s = |k: &str| e["smb"][k].as_str().unwrap_or("").to_owned();
            (s("command"), s("status_code"))
        })
        .collect();
    let theirs: Vec<(String, String)> = responses
        .iter()
        .map(|r| {
            let cmd = r[0].parse().unwrap();
            let status = u32::from_str_radix(r[1].trim_start_matches("0x"), 16).unwrap();
            (
                decoders::smb::smb2::command_name(cmd).to_owned(),
                format!("{status:#x}"),
            )
        })
        .collect();
    assert_eq!(ours, theirs, "SMB commands and statuses");
    // File names of the CREATEs, the share, the sizes, the dialect.
    let create = |e: &&&Value| e["smb"]["command"] == "SMB2_COMMAND_CREATE";
    let names: Vec<&str> = smb
        .iter()
        .filter(create)
        .filter_map(|e| e["smb"]["filename"].as_str())
        .collect();
    let their_names: Vec<&str> = created
        .iter()
        .map(|c| c[0].as_str())
        .filter(|n| !n.is_empty())
        .collect();
    assert_eq!(names, their_names, "CREATE file names");
    let share = smb
        .iter()
        .find(|e| e["smb"]["command"] == "SMB2_COMMAND_TREE_CONNECT")
        .unwrap();
    assert_eq!(share["smb"]["share"], trees[0][0].as_str());
    let our_sizes: Vec<u64> = smb
        .iter()
        .filter(create)
        .filter_map(|e| e["smb"]["size"].as_u64())
        .collect();
    let their_sizes: Vec<u64> = sizes.iter().filter_map(|s| s[0].parse().ok()).collect();
    assert_eq!(our_sizes, their_sizes, "file sizes");
    assert_eq!(smb[0]["smb"]["dialect"], "3.11");
    assert_eq!(dialect[0][0], "0x0311");
    // Files read and written: one fileinfo each, its size what the READs and WRITEs moved.
    let files: BTreeMap<&str, u64> = events
        .iter()
        .filter(|e| e["event_type"] == "fileinfo")
        .map(|e| {
            (
                e["fileinfo"]["filename"].as_str().unwrap(),
                e["fileinfo"]["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let read: u64 = reads.iter().filter_map(|r| r[0].parse::<u64>().ok()).sum();
    let written: u64 = writes.iter().filter_map(|r| r[0].parse::<u64>().ok()).sum();
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(files["Boiler.ACD"], written);
    assert_eq!(files["Line3.ap17"] + files["readme.txt"], read);
    // Rules: the share once (its TREE_CONNECT), each project file's CREATE, no SMB1, and
    // the raw name on the wire in one packet.
    let alerts = |sid: u64| {
        events
            .iter()
            .filter(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == sid)
            .count()
    };
    let projects = their_names.iter().filter(|n| n.ends_with(".ap17")).count();
    assert_eq!(
        (alerts(1), alerts(2), alerts(3), alerts(4), alerts(5)),
        (1, projects, 0, 1, logins.len())
    );
    // Who logged in, as tshark reads the NTLMSSP AUTHENTICATE message.
    let ours: Vec<(&str, &str)> = smb
        .iter()
        .filter(|e| e["smb"]["ntlmssp"].is_object())
        .map(|e| {
            let n = &e["smb"]["ntlmssp"];
            (n["user"].as_str().unwrap(), n["host"].as_str().unwrap())
        })
        .collect();
    let theirs: Vec<(&str, &str)> = logins
        .iter()
        .map(|l| (l[0].as_str(), l[1].as_str()))
        .collect();
    assert_eq!(ours, theirs, "NTLMSSP logins");
}
