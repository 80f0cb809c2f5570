// An independent OPC-UA client (node-opcua) against opcuad, run by
// tests/opcuad/test_interop_node.py.  One JSON argument in, one JSON object out (stdout):
// what it browsed, read, saw change, read from history, and how its writes were answered.
"use strict";
const { OPCUACertificateManager } = require("node-opcua-certificate-manager");
const {
  OPCUAClient, MessageSecurityMode, SecurityPolicy,
  AttributeIds, TimestampsToReturn, ClientSubscription, ClientMonitoredItem,
  UserTokenType, ReadRawModifiedDetails, HistoryReadRequest, DataType, StatusCodes, BrowseDirection,
} = require("node-opcua-client");

const args = JSON.parse(process.argv[2]);
const out = { policies: {}, steps: [] };

function client(policy, mode) {
  return OPCUAClient.create({
    applicationName: "node-opcua interop",
    applicationUri: args.applicationUri,
    securityMode: MessageSecurityMode[mode],
    securityPolicy: SecurityPolicy[policy],
    certificateFile: args.cert,
    privateKeyFile: args.key,
    clientCertificateManager: new OPCUACertificateManager({
      rootFolder: args.pki, automaticallyAcceptUnknownCertificate: true,
    }),
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100 },
    requestedSessionTimeout: 60000,
  });
}

const login = (user) => ({ type: UserTokenType.UserName, userName: user, password: args.password });

async function tryPolicy(policy, mode) {
  const c = client(policy, mode);
  try {
    await c.connect(args.endpoint);
    const s = await c.createSession(login("oscar"));
    const ns = (await s.readNamespaceArray()).indexOf(args.namespaceUri);
    const dv = await s.read({ nodeId: `ns=${ns};s=W101.THP`, attributeId: AttributeIds.Value });
    out.policies[`${policy}/${mode}`] = dv.statusCode.name;
    await s.close();
  } catch (e) {
    out.policies[`${policy}/${mode}`] = `refused: ${e.message.split("\n")[0]}`;
  } finally {
    await c.disconnect();
  }
}

async function browseNames(s, nodeId) {
  const r = await s.browse({ nodeId, browseDirection: BrowseDirection.Forward,
                             resultMask: 63, includeSubtypes: true });
  return r.references.map((x) => ({ name: x.browseName.name, id: x.nodeId.toString() }));
}

async function main() {
  for (const [p, m] of args.policies) await tryPolicy(p, m);

  const c = client("Basic256Sha256", "SignAndEncrypt");
  await c.connect(args.endpoint);
  const s = await c.createSession(login("oscar"));
  const ns = (await s.readNamespaceArray()).indexOf(args.namespaceUri);
  out.ns = ns;
  const objects = await browseNames(s, "ObjectsFolder");
  const siteRef = objects.find((x) => x.name === args.site);
  out.site = siteRef ? siteRef.id : null;
  const wells = await browseNames(s, siteRef.id);
  out.folders = wells.map((x) => x.name);
  const w101 = wells.find((x) => x.name === "W101");
  out.w101 = (await browseNames(s, w101.id)).map((x) => x.id);

  const thp = `ns=${ns};s=W101.THP`;
  const dv = await s.read({ nodeId: thp, attributeId: AttributeIds.Value });
  // B201 is outside oscar's scope (Lagunillas): its value is refused him
  out.outOfScope = (await s.read({ nodeId: `ns=${ns};s=B201.THP`,
                                   attributeId: AttributeIds.Value })).statusCode.name;
  out.thp = { value: dv.value.value, status: dv.statusCode.name,
              source: dv.sourceTimestamp && dv.sourceTimestamp.toISOString() };
  for (const prop of await browseNames(s, thp)) {
    const v = await s.read({ nodeId: prop.id, attributeId: AttributeIds.Value });
    if (prop.name === "EURange") out.range = [v.value.value.low, v.value.value.high];
    if (prop.name === "EngineeringUnits") {
      out.units = { text: v.value.value.displayName.text, unitId: v.value.value.unitId };
    }
  }
  const flare = await s.read({ nodeId: `ns=${ns};s=SITE.FLARE_T`, attributeId: AttributeIds.Value });
  out.flareStatus = flare.statusCode.name;

  // Subscription: the test moves W101.THP in the ring while we watch.
  const sub = ClientSubscription.create(s, { requestedPublishingInterval: 100,
    requestedLifetimeCount: 600, requestedMaxKeepAliveCount: 20, publishingEnabled: true });
  const seen = [];
  const item = ClientMonitoredItem.create(sub, { nodeId: thp, attributeId: AttributeIds.Value },
    { samplingInterval: 100, discardOldest: true, queueSize: 10 }, TimestampsToReturn.Both);
  item.on("changed", (v) => seen.push(v.value.value));
  const deadline = Date.now() + 15000;
  while (new Set(seen).size < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  out.changes = seen;
  await sub.terminate();

  // History, following continuation points.
  let cp = null; let n = 0; let calls = 0;
  do {
    const res = await s.historyRead(new HistoryReadRequest({
      historyReadDetails: new ReadRawModifiedDetails({ isReadModified: false,
        startTime: new Date(args.historyStart), endTime: new Date(args.historyEnd),
        numValuesPerNode: 0, returnBounds: false }),
      nodesToRead: [{ nodeId: thp, continuationPoint: cp }],
      timestampsToReturn: TimestampsToReturn.Both, releaseContinuationPoints: false,
    }));
    const r = res.results[0];
    n += r.historyData.dataValues.length;
    cp = r.continuationPoint && r.continuationPoint.length ? r.continuationPoint : null;
    calls += 1;
  } while (cp && calls < 100);
  out.history = { values: n, calls };

  const spm = `ns=${ns};s=W101.SPM_SET`;
  const value = { value: { dataType: DataType.Double, value: 9.5 } };
  out.writeAsOscar = (await s.write({ nodeId: spm, attributeId: AttributeIds.Value, value })).name;
  await s.close();
  const s2 = await c.createSession(login("rita"));
  out.writeAsRita = (await s2.write({ nodeId: spm, attributeId: AttributeIds.Value, value })).name;
  await s2.close();
  try {
    await c.createSession({ ...login("oscar"), password: "not-the-password" });
    out.wrongPassword = "accepted";
  } catch (e) {
    out.wrongPassword = `refused: ${e.message.split("\n")[0]}`;
  }
  out.negotiated = { policy: c.securityPolicy, mode: MessageSecurityMode[c.securityMode] };
  await c.disconnect();
}

main().then(() => { console.log(JSON.stringify(out)); process.exit(0); })
  .catch((e) => { out.error = String(e && e.stack || e); console.log(JSON.stringify(out)); process.exit(1); });
