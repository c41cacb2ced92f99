// A webhook receiver written as a Standard Webhooks consumer would write it,
// with the spec's own JavaScript library (npm `standardwebhooks`, pinned in
// package.json), for tests/cli/test_cli_standard_webhooks.cpp.
//
//   STANDARD_WEBHOOKS_SECRET=<secret> node standard_webhooks_receiver.mjs --out FILE [--raw]
//
// Listens on 127.0.0.1 and a free port and prints `listening on <url>` once
// it accepts. Each POST is verified with `new Webhook(secret)` (a whsec_
// secret), or with `--raw` as `new Webhook(<the secret's UTF-8 bytes>,
// {format: "raw"})`, then verified again with one byte of its body changed,
// which the library must refuse. Each delivery is appended to FILE as one
// JSON line; it is answered 204 when verified, 401 when not. The secret is
// read from the environment so that it is not in the process list.

import { appendFileSync } from "node:fs";
import { createServer } from "node:http";

let Webhook;
try {
  ({ Webhook } = await import("standardwebhooks"));
} catch (error) {
  console.error(
    `the npm package standardwebhooks is not installed (${error.code ?? error.message}); ` +
      "run scripts/setup.sh --test-tools",
  );
  process.exit(2);
}

function option(name) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const out = option("--out");
const raw = process.argv.includes("--raw");
const secret = process.env.STANDARD_WEBHOOKS_SECRET;
if (!out || !secret) {
  console.error("usage: STANDARD_WEBHOOKS_SECRET=<secret> node standard_webhooks_receiver.mjs --out FILE [--raw]");
  process.exit(2);
}
const webhook = raw ? new Webhook(Buffer.from(secret, "utf8"), { format: "raw" }) : new Webhook(secret);

// The library's answer for one body: null when verified, else its message.
function refusal(body, headers) {
  try {
    webhook.verify(body, headers);
    return null;
  } catch (error) {
    return error.message;
  }
}

const server = createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks);
    const headers = {
      "webhook-id": request.headers["webhook-id"] ?? "",
      "webhook-timestamp": request.headers["webhook-timestamp"] ?? "",
      "webhook-signature": request.headers["webhook-signature"] ?? "",
    };
    const error = refusal(body, headers);
    const tampered = Buffer.from(body);
    if (tampered.length > 0) tampered[tampered.length - 1] ^= 0x01;
    const tamperedError = refusal(tampered, headers);
    const record = {
      verified: error === null,
      error,
      tampered_refused: tamperedError !== null,
      tampered_error: tamperedError,
      skew_s: Math.floor(Date.now() / 1000) - Number.parseInt(headers["webhook-timestamp"], 10),
      headers: {
        ...headers,
        "x-pipeline-delivery": request.headers["x-pipeline-delivery"] ?? "",
        "x-pipeline-signature": request.headers["x-pipeline-signature"] ?? "",
      },
      body: body.toString("utf8"),
    };
    appendFileSync(out, `${JSON.stringify(record)}\n`);
    response.writeHead(error === null ? 204 : 401);
    response.end();
  });
});

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  console.log(`listening on http://127.0.0.1:${port}/hook`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
