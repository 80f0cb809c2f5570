// bench/opcuad.py's subscriber: monitors N string NodeIds, counts notifications per
// writer tick (the value carries its tick: value = tick * 1e6 + slot) and prints one JSON
// object: {"ticks": {tick: count}, "subscribe_s": seconds to create the items}.
// node-opcua is used because a Python client cannot keep up with 10k changes/s on two
// cores (opcua-asyncio #1516) and would measure itself instead of the server.
"use strict";
const {
  OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, TimestampsToReturn,
  ClientSubscription, ClientMonitoredItemGroup, UserTokenType,
} = require("node-opcua-client");

const args = JSON.parse(process.argv[2]);

async function main() {
  const client = OPCUAClient.create({
    securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None,
    endpointMustExist: false, connectionStrategy: { maxRetry: 3, initialDelay: 500 },
    requestedSessionTimeout: 120000,
  });
  await client.connect(args.endpoint);
  const session = await client.createSession({ type: UserTokenType.Anonymous });
  const ns = (await session.readNamespaceArray()).indexOf(args.namespaceUri);
  const sub = ClientSubscription.create(session, {
    requestedPublishingInterval: args.publishingMs, requestedLifetimeCount: 1000,
    requestedMaxKeepAliveCount: 20, maxNotificationsPerPublish: 0, publishingEnabled: true,
  });
  const ticks = {};
  const started = Date.now();
  for (let k = 0; k < args.names.length; k += 2000) {
    const items = args.names.slice(k, k + 2000).map((n) => ({
      nodeId: `ns=${ns};s=${n}`, attributeId: AttributeIds.Value }));
    const group = ClientMonitoredItemGroup.create(sub, items,
      { samplingInterval: 0, discardOldest: true, queueSize: 2 }, TimestampsToReturn.Source);
    group.on("changed", (_item, dv) => {
      const v = dv.value.value;
      if (typeof v === "number") {
        const t = Math.floor(v / 1e6);
        ticks[t] = (ticks[t] || 0) + 1;
      }
    });
    await new Promise((resolve) => group.once("initialized", resolve));
  }
  const subscribeS = (Date.now() - started) / 1000;
  console.error(`subscribed ${args.names.length} items in ${subscribeS.toFixed(1)} s`);
  await new Promise((r) => setTimeout(r, args.seconds * 1000));
  console.log("RESULT " + JSON.stringify({ ticks, subscribe_s: subscribeS }));
  await sub.terminate();
  await session.close();
  await client.disconnect();
}

main().catch((e) => { console.error(e); process.exit(1); });
