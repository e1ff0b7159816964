// bench/pubsubenv.ts — the benchmarks' --pubsub-env NAME=VALUE flags (repeatable): what to add to the environment of
// one more pub/sub server measured in the same run (an allocator setting, say), and the name that setup is shown by.
import { readFileSync } from "node:fs";
import { startPubSub, type Running } from "../test/helpers";

/** The NAME=VALUE pairs given with --pubsub-env, or null when there are none; a malformed one ends the run with why. */
export function pubsubEnv(args: readonly string[], tool: string): { env: Record<string, string>; shown: string } | null {
  const env: Record<string, string> = {};
  args.forEach((a, i) => {
    if (a !== "--pubsub-env") return;
    const [name, ...value] = (args[i + 1] ?? "").split("=");
    if (!name || !value.length) {
      console.error(`${tool}: --pubsub-env takes NAME=VALUE (such as MIMALLOC_PURGE_DELAY=-1), not '${args[i + 1] ?? ""}'`);
      process.exit(2);
    }
    env[name] = value.join("=");
  });
  const names = Object.entries(env);
  return names.length ? { env, shown: names.map(([k, v]) => `${k}=${v}`).join(" ") } : null;
}

/** Throws unless the running process `pid` has every pair of `env` in its environment (read from /proc): so a setup
 *  named for a setting cannot be measured without it. */
export function assertEnvOf(pid: number, env: Record<string, string>): void {
  const has = new Set(readFileSync(`/proc/${pid}/environ`, "latin1").split("\0"));
  for (const [k, v] of Object.entries(env)) if (!has.has(`${k}=${v}`)) throw new Error(`process ${pid} was started without ${k}=${v} in its environment`);
}

/** A pub/sub server with `env` added to its environment, checked in /proc (and stopped, not left running, if it lacks it).
 *  It runs with `--allocator memory` unless `args` choose: so `env` is measured against mimalloc's defaults alone, and
 *  the default mode's settings are not added to it. */
export async function startPubSubWithEnv(env: Record<string, string>, args: string[] = []): Promise<Running> {
  const pubsub = await startPubSub(args.includes("--allocator") ? args : ["--allocator", "memory", ...args], env);
  try {
    assertEnvOf(pubsub.proc.pid, env);
  } catch (err) {
    await pubsub.stop();
    throw err;
  }
  return pubsub;
}
