// Connections to the queue's Redis. The address is a redis:// (or rediss://, TLS) URL; a first
// connection without retries checks that Redis answers, so an unreachable queue is one error
// line; the connection kept afterwards retries forever (maxRetriesPerRequest null, as BullMQ's
// workers require), so a Redis restart pauses the run instead of ending it.
import { Redis } from "ioredis";
import { CamscopeError } from "../../errors.ts";

const CONNECT_TIMEOUT_MS = 5000;

/** The queue URL checked: redis://host[:port][/db] or rediss://...; a one-line error otherwise. */
export function checkQueueUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--queue "${text}" is not a URL: give redis://host:port`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `--queue "${text}": the scheme must be redis:// or rediss://, got ${url.protocol}//`,
    );
  }
  if (url.hostname === "") {
    throw new CamscopeError("INVALID_ARGUMENT", `--queue "${text}" names no host`);
  }
  return text;
}

/** The URL without a password, for messages. */
export function displayUrl(text: string): string {
  const url = new URL(text);
  if (url.password) url.password = "***";
  return url.toString().replace(/\/$/, "");
}

/**
 * A connection to the queue, after checking that Redis answers (QUEUE error naming the address
 * and the cause if not). `onError` hears connection losses while the client retries.
 */
export async function connectQueue(
  text: string,
  onError: (error: Error) => void = () => undefined,
): Promise<Redis> {
  const url = checkQueueUrl(text);
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  // connect() rejects with "Connection is closed."; the cause is in the error event before it.
  let cause: Error | undefined;
  probe.on("error", (error: Error) => (cause ??= error));
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new CamscopeError(
      "QUEUE",
      `Cannot reach the queue at ${displayUrl(url)}: ${(cause ?? (error as Error)).message}`,
      { hint: "start Redis there (redis-server), or give --queue the address of a running one" },
    );
  } finally {
    probe.disconnect();
  }
  const client = new Redis(url, { maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS });
  client.on("error", onError);
  return client;
}
