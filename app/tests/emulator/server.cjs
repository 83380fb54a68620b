// Starts the @firestore-emulator/server Firestore emulator for the store tests.
//
//   node server.cjs [--host 127.0.0.1] [--port 0]
//
// Prints one JSON line {"host": ..., "port": ...} on stdout once it accepts connections (port 0
// picks a free one, so parallel test runs never race for a port), then serves until SIGTERM or
// SIGINT, or until stdin closes (the test process that started it went away).
//
// Outage tests write lines to stdin: "down" stops the server (the port is closed and every open
// connection dropped) and prints {"down": true}; "up" serves again on the same port and prints the
// address line again. The data stays, as it does when a real database comes back.
// FirestoreServer.start() always binds 0.0.0.0; tests only ever use loopback, so we bind its
// gRPC server ourselves on the requested host.
"use strict";

const { FirestoreServer } = require("@firestore-emulator/server");
const { ServerCredentials } = require("@grpc/grpc-js");

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = option("host", "127.0.0.1");
const port = Number(option("port", "0"));
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port ${option("port")} is not a port number: use 0 (any free port) to 65535`);
  process.exit(2);
}

const emulator = new FirestoreServer();
const grpcServer = emulator.server;
if (!grpcServer || typeof grpcServer.bindAsync !== "function") {
  console.error("@firestore-emulator/server changed its internals: update tests/emulator/server.cjs");
  process.exit(1);
}

let address = null;
let boundPort = port;

function listen(onPort) {
  grpcServer.bindAsync(`${host}:${onPort}`, ServerCredentials.createInsecure(), (err, bound) => {
    if (err) {
      console.error(`cannot listen on ${host}:${onPort}: ${err.message}`);
      process.exit(1);
    }
    address = `${host}:${bound}`;
    boundPort = bound;
    process.stdout.write(JSON.stringify({ host, port: bound }) + "\n");
  });
}

listen(port);

let pending = "";
process.stdin.on("data", (chunk) => {
  pending += chunk.toString();
  let newline;
  while ((newline = pending.indexOf("\n")) >= 0) {
    const command = pending.slice(0, newline).trim();
    pending = pending.slice(newline + 1);
    if (command === "down" && address !== null) {
      const was = address;
      address = null;
      grpcServer.drain(was, 0); // every open connection: drain needs the port still bound
      grpcServer.unbind(was); // then no new ones
      process.stdout.write(JSON.stringify({ down: true }) + "\n");
    } else if (command === "up" && address === null) {
      listen(boundPort);
    }
  }
});

function stop() {
  grpcServer.forceShutdown();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
