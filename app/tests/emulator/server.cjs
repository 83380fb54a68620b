// Starts the @firestore-emulator/server Firestore emulator for the store tests.
//
//   node server.cjs [--host 127.0.0.1] [--port 0]
//
// Prints one JSON line {"host": ..., "port": ...} on stdout once it accepts connections (port 0
// picks a free one, so parallel test runs never race for a port), then serves until SIGTERM or
// SIGINT, or until stdin closes (the test process that started it went away).
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

grpcServer.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(`cannot listen on ${host}:${port}: ${err.message}`);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ host, port: bound }) + "\n");
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
