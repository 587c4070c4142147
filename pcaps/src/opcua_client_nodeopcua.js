#!/usr/bin/env node
// OPC UA client for make-captures.sh, on node-opcua (node-opcua-client).
//
//   node opcua_client_nodeopcua.js URL MODE [PASSWORD]
//
// MODE normal:  GetEndpoints; a session as user "operator" (the plant's HMI never
//               connects anonymously): Browse, Read, Write, Call,
//               CreateSubscription + CreateMonitoredItems and a few Publish round
//               trips, a second Read and Write, CloseSession; close.
// MODE encrypted: the same with Basic256Sha256 SignAndEncrypt.
// MODE attack:  three ActivateSessions as "operator" with guessed passwords (each
//               refused), then an anonymous session: Browse of Objects and Plant,
//               Read, Write of Setpoint and Mode, Call StartPump(false), CloseSession.
//
// The client's own certificate (needed for the encrypted channel) is made by
// node-opcua in its PKI folder under XDG_CONFIG_HOME; make-captures.sh points
// that at a temporary directory. The source address comes from bind_source.so.
"use strict";
const {
    OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, UserTokenType,
    TimestampsToReturn, DataType, BrowseDirection,
} = require("node-opcua-client");

const [url, mode, password] = process.argv.slice(2);
const NS = "ns=2;s=";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (...a) => console.log(...a);

async function browse(session, nodeId) {
    const r = await session.browse({ nodeId, browseDirection: BrowseDirection.Forward,
        resultMask: 63, includeSubtypes: true, referenceTypeId: "HierarchicalReferences" });
    say(`browse ${nodeId}: ${r.references.map((x) => x.browseName.toString()).join(", ")}`);
}

async function readValues(session, names) {
    const dvs = await session.read(names.map((n) => ({ nodeId: NS + n, attributeId: AttributeIds.Value })));
    names.forEach((n, i) => say(`read ${n} = ${dvs[i].value.value} (${dvs[i].statusCode.name})`));
}

async function write(session, name, dataType, value) {
    const st = await session.write({ nodeId: NS + name, attributeId: AttributeIds.Value,
        value: { value: { dataType, value } } });
    say(`write ${name} := ${value}: ${st.name}`);
}

async function call(session, run) {
    const r = await session.call({ objectId: NS + "Plant", methodId: NS + "StartPump",
        inputArguments: [{ dataType: DataType.Boolean, value: run }] });
    say(`call StartPump(${run}): ${r.statusCode.name} -> ${r.outputArguments.map((a) => a.value)}`);
}

async function subscribe(session, ms) {
    const sub = await session.createSubscription2({
        requestedPublishingInterval: 500, requestedLifetimeCount: 60, requestedMaxKeepAliveCount: 10,
        maxNotificationsPerPublish: 10, publishingEnabled: true, priority: 1 });
    const item = await sub.monitor({ nodeId: NS + "Level", attributeId: AttributeIds.Value },
        { samplingInterval: 250, discardOldest: true, queueSize: 1 }, TimestampsToReturn.Both);
    let n = 0;
    item.on("changed", (dv) => { n += 1; });
    await sleep(ms);
    await sub.terminate();
    say(`subscription: ${n} data changes of Level in ${ms} ms`);
}

async function main() {
    const secure = mode === "encrypted";
    const client = OPCUAClient.create({
        applicationName: "icsight-hmi",
        applicationUri: "urn:icsight:plant:hmi",
        endpointMustExist: false,
        keepSessionAlive: false,
        connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
        securityMode: secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None,
        securityPolicy: secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None,
        requestedSessionTimeout: 60000,
    });
    client.on("backoff", () => { throw new Error("connection failed"); });
    await client.connect(url);
    const eps = await client.getEndpoints();
    say(`endpoints: ${eps.map((e) => `${e.securityPolicyUri.split("#")[1]}/${MessageSecurityMode[e.securityMode]}`).join(", ")}`);

    if (mode === "attack") {
        for (const guess of ["operator", "admin", "op-2023"]) {
            try {
                await client.createSession({ type: UserTokenType.UserName, userName: "operator",
                    password: guess });
                throw new Error(`the guessed password ${guess} was accepted`);
            } catch (err) {
                say(`guess ${guess} refused: ${err.message.split("\n")[0]}`);
            }
        }
        const s = await client.createSession();
        say("anonymous session");
        await browse(s, "ns=0;i=85");
        await browse(s, NS + "Plant");
        await readValues(s, ["Level", "Setpoint", "PumpRunning", "Mode"]);
        await write(s, "Setpoint", DataType.Double, 9999.0);
        await write(s, "Mode", DataType.String, "MANUAL");
        await call(s, false);
        await readValues(s, ["Setpoint", "PumpRunning", "Mode"]);
        await s.close();
        await client.disconnect();
        return;
    }

    const u = await client.createSession({ type: UserTokenType.UserName, userName: "operator", password });
    say("session as operator");
    await browse(u, "ns=0;i=85");
    await browse(u, NS + "Plant");
    await readValues(u, ["Level", "Setpoint", "PumpRunning", "Mode"]);
    await write(u, "Setpoint", DataType.Double, 510.0);
    await call(u, true);
    await subscribe(u, 3000);
    await readValues(u, ["Level", "Setpoint"]);
    await write(u, "Setpoint", DataType.Double, 505.0);
    await u.close();
    await client.disconnect();
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
