// An in-memory SCIM 2.0 server built on SCIMMY, used by scimsync's interop
// tests as an independent implementation of RFC 7644 listing and filtering.
//
//   node server.js [port]      (or PORT=…; 0 picks a free port)
//
// Environment: SCIM_TOKEN (bearer token, required), SCIM_USERS (users to
// seed, default 25), SCIM_FAULTS (JSON object, see applyFaults below).
// It prints "listening on port N" once it accepts connections. The SCIM
// endpoints live under /scim/v2. ETags are added here because SCIMMY has
// none of its own.
"use strict";

const express = require("express");
const SCIMMY = require("scimmy").default;
const {SCIMMYRouters} = require("scimmy-routers");

const token = process.env.SCIM_TOKEN;
if (!token) {
    console.error("server.js: SCIM_TOKEN is required");
    process.exit(2);
}
const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const seedUsers = Number(process.env.SCIM_USERS ?? 25);
const faults = JSON.parse(process.env.SCIM_FAULTS || "{}");

const pad = (n) => String(n).padStart(5, "0");
const version = (r) => `W/"${r.id}-${r.rev}"`;
const meta = (r) => ({...r.data, id: r.id, meta: {version: version(r)}});

const users = [];
const addUser = (i) => users.push({id: `u${pad(i)}`, rev: 1, data: {
    userName: `user${pad(i)}@example.gov`, active: i % 10 !== 0,
    name: {givenName: "User", familyName: pad(i)},
    emails: [{value: `User${pad(i)}@Example.gov`, type: "work", primary: true}],
}});
for (let i = 1; i <= seedUsers; i++) addUser(i);

// Display names in mixed case: SCIMMY's filters are case-sensitive, so a
// lookup of "claude-hq-users" finds nothing here and the client must fall
// back to matching locally.
const member = (u) => ({value: u.id, type: "User", display: u.data.userName});
const groups = [
    {id: "g-hq", rev: 1, data: {displayName: "Claude-HQ-Users", members: users.filter((_, i) => i % 2 === 0).map(member)}},
    {id: "g-admins", rev: 1, data: {displayName: "Claude-HQ-IT-Admins", members: users.slice(0, 3).map(member)}},
    {id: "g-west", rev: 1, data: {displayName: "claude-west-users", members: users.filter((_, i) => i % 2 === 1).map(member)}},
];

const egress = (store) => (resource) => {
    const all = store.map(meta);
    if (resource.id) {
        const found = all.find((r) => r.id === resource.id);
        if (!found) throw new Error("not found");
        return found;
    }
    return resource.filter ? resource.filter.match(all) : all;
};
const readOnly = () => { throw new SCIMMY.Types.Error(403, null, "this fixture is read-only"); };
SCIMMY.Resources.declare(SCIMMY.Resources.User).egress(egress(users)).ingress(readOnly).degress(readOnly);
SCIMMY.Resources.declare(SCIMMY.Resources.Group).egress(egress(groups)).ingress(readOnly).degress(readOnly);

// applyFaults rewrites list requests to /Users so that the same listing
// suite that runs against scimsync's reference server runs here too:
//   pageCap: n            never return more than n resources per page
//   changeTotal: true     add a user after the first page is served
//   duplicate: true       pages after the first start one resource early
//   ignoreStartIndex: true  every page is the first page
//   emptyPages: true      pages after the first hold no resources
//   truncate: true        pages after the first are cut off mid-body
const isUserList = (req) => req.method === "GET" && /\/Users\/?$/.test(req.path);
const applyFaults = (req, res, next) => {
    if (!isUserList(req)) return next();
    const start = Number(req.query.startIndex ?? 1);
    if (faults.pageCap && (req.query.count === undefined || Number(req.query.count) > faults.pageCap)) {
        req.query.count = String(faults.pageCap);
    }
    if (faults.duplicate && start > 1) req.query.startIndex = String(start - 1);
    if (faults.ignoreStartIndex) req.query.startIndex = "1";
    const send = res.send.bind(res);
    res.send = (body) => {
        let text = typeof body === "string" ? body : JSON.stringify(body);
        if (faults.changeTotal && start === 1) addUser(users.length + 1);
        if (faults.emptyPages && start > 1) text = JSON.stringify({...JSON.parse(text), Resources: []});
        if (faults.truncate && start > 1) {
            res.setHeader("Content-Length", Buffer.byteLength(text));
            res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket.destroy());
            return res;
        }
        return send(text);
    };
    next();
};

// ETag on single-resource reads, from the version set by egress above.
const etags = (req, res, next) => {
    const send = res.send.bind(res);
    res.send = (body) => {
        const version = body?.meta?.version;
        if (version && !Array.isArray(body.Resources)) res.setHeader("ETag", version);
        return send(body);
    };
    next();
};

const app = express();
app.use("/scim/v2", applyFaults, etags, new SCIMMYRouters({
    type: "bearer",
    handler: (req) => {
        if (req.header("Authorization") !== `Bearer ${token}`) throw new Error("invalid bearer token");
        return "interop";
    },
}));
const server = app.listen(port, "127.0.0.1", () => {
    console.log(`listening on port ${server.address().port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
