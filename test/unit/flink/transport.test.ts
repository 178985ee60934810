import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import winston from "winston";
import { FlinkRestClient } from "../../../lib/flink/client";
import {
  FlinkJobNotFoundError,
  FlinkRequestRejectedError,
  FlinkResponseInvalidError,
} from "../../../lib/flink/errors";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(s => new Promise(r => s.close(r))));
});

/** A loopback HTTP server; fails the test when it cannot listen. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const hits: string[] = [];
  server.on("request", req => hits.push(req.url ?? ""));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const quiet = winston.createLogger({ silent: true });
const client = (baseUrl: string) =>
  new FlinkRestClient({ baseUrl, timeoutMs: 5_000, retries: 2, backoffMs: 1, logger: quiet });

describe("the Flink REST client against a JobManager that misbehaves", () => {
  it("does not follow a redirect: the call fails naming the JobManager, the target is never called", async () => {
    const target = await serve((_, res) => res.end(JSON.stringify({ "flink-version": "1.20.5" })));
    const jobManager = await serve((_, res) => {
      res.writeHead(302, { location: `${target.url}/config` }).end();
    });
    const error = await client(jobManager.url)
      .config()
      .catch(e => e);
    expect(error).toBeInstanceOf(FlinkRequestRejectedError);
    expect(error.message).toBe(
      `GET /config at ${jobManager.url}: the JobManager answered with a redirect (HTTP 302), which the operator does not follow`,
    );
    // Not retried either: a redirect is an answer, not an outage.
    expect(jobManager.hits).toEqual(["/config"]);
    expect(target.hits).toEqual([]);
  });

  it("stops reading an oversized response at 16 MiB, streamed without a length, and does not retry", async () => {
    const chunk = Buffer.alloc(1024 * 1024, "x");
    const jobManager = await serve((_, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"flink-version":"');
      let sent = 0;
      const more = () => {
        while (sent < 17) {
          sent++;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end('"}');
      };
      more();
    });
    const error = await client(jobManager.url)
      .config()
      .catch(e => e);
    expect(error).toBeInstanceOf(FlinkResponseInvalidError);
    expect(error.message).toBe(
      `GET /config at ${jobManager.url}: the response is larger than 16777216 bytes, the most the operator reads`,
    );
    expect(jobManager.hits).toEqual(["/config"]);
  });

  it("stops reading a response whose declared length is over the cap", async () => {
    const jobManager = await serve((_, res) => {
      const body = JSON.stringify({ "flink-version": "x".repeat(17 * 1024 * 1024) });
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
      res.end(body);
    });
    const error = await client(jobManager.url)
      .config()
      .catch(e => e);
    expect(error).toBeInstanceOf(FlinkResponseInvalidError);
  });

  it("takes a 404 for a missing job only from Flink itself, not from a proxy in front of it", async () => {
    const jobId = "a1000000000000000000000000000001";
    // What the apiserver's service proxy answers when it cannot reach the Service's pods: a Status object.
    const proxy = await serve((_, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: "the server could not find the requested resource",
          reason: "NotFound",
          code: 404,
        }),
      );
    });
    const error = await client(proxy.url)
      .job(jobId)
      .catch(e => e);
    expect(error).not.toBeInstanceOf(FlinkJobNotFoundError);
    expect(error).toBeInstanceOf(FlinkRequestRejectedError);
    expect(error.status).toBe(404);
    // Flink's own answer has its error body.
    const flink = await serve((_, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [`Job ${jobId} not found`] }));
    });
    await expect(client(flink.url).job(jobId)).rejects.toBeInstanceOf(FlinkJobNotFoundError);
  });
});
