// A server that answers every request at once with a fixed body: what the load generator and this machine
// measure when the server does nothing. `node bench/bare-server.ts H2_PORT H1_PORT` serves gRPC on H2_PORT
// (HTTP/2 without TLS, a 40-byte message, grpc-status 0) and HTTP/1.1 on H1_PORT (200, a small JSON object).
import http from "node:http";
import http2 from "node:http2";

const message = Buffer.alloc(45);
message.writeUInt32BE(40, 1);
const json = Buffer.from('{"item":{"id":"bare","name":"bare"},"cached":true}');

const grpc = http2.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/grpc" });
    res.addTrailers({ "grpc-status": "0" });
    res.end(message);
  });
});
const plain = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": json.length });
    res.end(json);
  });
});
let listening = 0;
const ready = () => ++listening === 2 && process.stdout.write("listening\n");
grpc.listen(Number(process.argv[2]), "127.0.0.1", ready);
plain.listen(Number(process.argv[3]), "127.0.0.1", ready);
process.on("SIGTERM", () => process.exit(0));
