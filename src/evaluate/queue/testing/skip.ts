// Queue tests need Debian's redis-server (.ci/run installs it). Without it they are skipped, and
// say so loudly rather than pass in silence.
import { findRedisServer } from "./redis-server.ts";

/** The skip reason for node:test (false: run), printed to stderr when skipping. */
export function redisSkip(): string | false {
  if (findRedisServer()) return false;
  const reason =
    "redis-server not found (apt-get install -y redis-server, or set REDIS_SERVER): queue tests SKIPPED";
  process.stderr.write(
    `\n${"*".repeat(reason.length + 8)}\n*** ${reason} ***\n${"*".repeat(reason.length + 8)}\n\n`,
  );
  return reason;
}
