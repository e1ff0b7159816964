// test/cluster.ts — a real Redis Cluster for tests and benchmarks: 3 masters and 3 replicas from Debian's
// redis-server on free ports, joined by `redis-cli --cluster create`, with kill -9 and wait-for-failover helpers.
import { spawn, type Subprocess } from "bun";
import { collect, freePort, have, run, tempPath, waitForPort } from "./helpers";

/** What startCluster() runs: Debian's redis-server, and redis-cli --cluster create to join the nodes. */
export const CLUSTER_NEEDS = ["redis-server", "redis-cli"];
export const haveCluster = CLUSTER_NEEDS.every(have);

export type ClusterNode = { port: number; proc: Subprocess; output: () => string };

export type Cluster = {
  nodes: ClusterNode[];
  /** redis://127.0.0.1:<port> of the first node: what a user would give Notistream. */
  url: string;
  /** The node serving `port` as a master now, by CLUSTER NODES. */
  masters(): Promise<number[]>;
  /** Ports of masters and who replicates whom, read from any live node. */
  replicaOf(master: number): Promise<number | null>;
  /** Moves one slot (and its keys, by MIGRATE) to the master on `toPort`, the way redis-cli --cluster reshard does. */
  moveSlot(slot: number, toPort: number): Promise<void>;
  /** Starts a killed node again on its port; it rejoins (a master that was failed over comes back as a replica). */
  restart(port: number): Promise<void>;
  /** Waits until every live node says cluster_state:ok and every replica's link to its master is up. */
  waitHealthy(ms?: number): Promise<void>;
  /** kill -9 one node. */
  kill(port: number): void;
  /** Waits until every slot is served again and `port` is no longer a master anybody believes in. */
  waitForFailover(deadPort: number, ms?: number): Promise<void>;
  stop(): Promise<void>;
};

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run(["redis-cli", "-p", String(port), ...args], { timeoutMs: 10_000 })).stdout;
}

/** A free port whose cluster-bus twin (port + 10000) is free too; freePort() alone may hand out one above 55535. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port > 55535) continue;
    try {
      Bun.listen({ hostname: "127.0.0.1", port: port + 10000, socket: { data() {} } }).stop(true);
      return port;
    } catch {}
  }
}

/** Starts 3 masters and 3 replicas (node timeout 1 s so a failover takes a few seconds) and waits for cluster_state:ok. */
export async function startCluster(): Promise<Cluster> {
  const dir = tempPath("cluster");
  await Bun.write(`${dir}/.keep`, "");
  const nodes: ClusterNode[] = [];
  // A node keeps its identity in nodes-<port>.conf, so starting it again on the same port brings it back (as a replica).
  // Without persistence a killed node comes back empty: a replica's full sync still writes an RDB file to load, so each
  // node has its own and deletes it once loaded. One shared dump.rdb made a restarted master load whichever shard
  // synced last, seconds old, and serve it as its history until the cluster told it its slots had moved on.
  const launch = (port: number): ClusterNode => {
    const proc = spawn(
      ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
        "--dbfilename", `dump-${port}.rdb`, "--rdb-del-sync-files", "yes",
        "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--cluster-node-timeout", "1000",
        "--cluster-replica-validity-factor", "0"],
      { stdout: "pipe", stderr: "pipe" },
    );
    return { port, proc, output: collect(proc) };
  };
  for (let i = 0; i < 6; i++) nodes.push(launch(await clusterPort()));
  for (const n of nodes) await waitForPort(n.port);
  const created = await run(["redis-cli", "--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "1", "--cluster-yes"], { timeoutMs: 60_000 });
  if (!/All 16384 slots covered/.test(created.stdout)) throw new Error(`redis-cli --cluster create failed:\n${created.stdout}\n${created.stderr}`);
  const alive = () => nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);
  const waitOk = async (ms: number) => {
    const end = Date.now() + ms;
    for (;;) {
      const states = await Promise.all(alive().map((n) => cli(n.port, "CLUSTER", "INFO")));
      if (states.every((s) => /cluster_state:ok/.test(s))) return;
      if (Date.now() > end) throw new Error(`cluster not ok after ${ms} ms:\n${states.join("\n")}`);
      await Bun.sleep(100);
    }
  };
  await waitOk(30_000);
  // Replicas must have finished their first sync, or a failover test could find a replica with nothing.
  const replicasSynced = async () => {
    for (const n of alive()) {
      const info = await cli(n.port, "INFO", "replication");
      if (/role:slave/.test(info) && !/master_link_status:up/.test(info)) return false;
      if (/role:master/.test(info) && !/connected_slaves:[1-9]/.test(info)) return false;
    }
    return true;
  };
  for (const end = Date.now() + 30_000; !(await replicasSynced()); ) {
    if (Date.now() > end) throw new Error("cluster replicas did not sync within 30 s");
    await Bun.sleep(100);
  }

  const nodesTable = async () => {
    for (const n of alive()) {
      try {
        const out = await cli(n.port, "CLUSTER", "NODES");
        if (out.trim()) return out.trim().split("\n").map((l) => l.split(" "));
      } catch {}
    }
    return [];
  };
  const portOf = (addr: string) => Number(addr.split("@")[0]!.split(":")[1]);

  return {
    nodes,
    url: `redis://127.0.0.1:${nodes[0]!.port}`,
    async masters() {
      return (await nodesTable()).filter((f) => f[2]!.includes("master") && !f[2]!.includes("fail")).map((f) => portOf(f[1]!));
    },
    async replicaOf(master: number) {
      const table = await nodesTable();
      const id = table.find((f) => portOf(f[1]!) === master)?.[0];
      const rep = table.find((f) => f[3] === id);
      return rep ? portOf(rep[1]!) : null;
    },
    async moveSlot(slot: number, toPort: number) {
      const table = await nodesTable();
      const owner = table.find((f) => f[2]!.includes("master") && f.slice(8).some((r) => {
        const [a, b] = r.split("-").map(Number);
        return a! <= slot && slot <= (b ?? a!);
      }));
      const to = table.find((f) => portOf(f[1]!) === toPort);
      if (!owner || !to) throw new Error(`cannot find the owner of slot ${slot} or the node on ${toPort}`);
      const fromPort = portOf(owner[1]!);
      await cli(toPort, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", owner[0]!);
      await cli(fromPort, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", to[0]!);
      for (;;) {
        const keys = (await cli(fromPort, "CLUSTER", "GETKEYSINSLOT", String(slot), "100")).trim().split("\n").filter(Boolean);
        if (!keys.length) break;
        await cli(fromPort, "MIGRATE", "127.0.0.1", String(toPort), "", "0", "5000", "KEYS", ...keys);
        await Bun.sleep(20); // writes keep coming meanwhile: they get ASK redirections
      }
      for (const f of table.filter((f) => f[2]!.includes("master"))) await cli(portOf(f[1]!), "CLUSTER", "SETSLOT", String(slot), "NODE", to[0]!);
    },
    async restart(port: number) {
      const i = nodes.findIndex((n) => n.port === port);
      nodes[i] = launch(port);
      await waitForPort(port);
    },
    async waitHealthy(ms = 30_000) {
      const end = Date.now() + ms;
      await waitOk(ms);
      while (!(await replicasSynced())) {
        if (Date.now() > end) throw new Error(`cluster replicas not in sync after ${ms} ms`);
        await Bun.sleep(100);
      }
    },
    kill(port: number) {
      nodes.find((n) => n.port === port)?.proc.kill("SIGKILL");
    },
    async waitForFailover(deadPort: number, ms = 30_000) {
      const end = Date.now() + ms;
      for (;;) {
        const table = await nodesTable();
        const dead = table.find((f) => portOf(f[1]!) === deadPort);
        const promoted = dead && (dead[2]!.includes("fail") || dead[2]!.includes("slave"));
        if (promoted) {
          try {
            await waitOk(Math.max(1000, end - Date.now()));
            return;
          } catch {}
        }
        if (Date.now() > end) throw new Error(`no failover of ${deadPort} within ${ms} ms`);
        await Bun.sleep(100);
      }
    },
    async stop() {
      for (const n of nodes) n.proc.kill("SIGKILL");
      await Promise.all(nodes.map((n) => n.proc.exited));
    },
  };
}
